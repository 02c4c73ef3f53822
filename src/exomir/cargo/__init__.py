"""Cargo design: canonical miRNA target sites, context++ scores, evidence, enrichment, ranking.

See docs/cargo.md. Public entry points: :func:`exomir.cargo.sites.scan`,
:func:`exomir.cargo.context.score_sites`, :func:`exomir.cargo.evidence.merge`,
:func:`exomir.cargo.enrich.enrich`, :func:`exomir.cargo.rank.rank_cargo`.
"""
