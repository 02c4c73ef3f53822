"""kb.filters (in-memory, used by the web app) answers exactly as KnowledgeBase.studies."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exomir.core import InputError
from exomir.kb import open_kb
from exomir.kb.filters import facet_values, filter_studies, search_terms, study_filter

QUERIES = [
    {"indication": "neuropathic_pain", "mirna": "miR-146a"},
    {"mirna": "hsa-miR-21-5p"}, {"mirna": "miR-21"}, {"mirna": "mmu-miR-155"},
    {"gene": "pten"}, {"pathway": "PI3K/Akt"}, {"pathway": "nf-kb"},
    {"source": "MSC"}, {"route": "intrathecal"}, {"route": "hydrogel"}, {"route": "gelma"},
    {"species": "rat"}, {"model": "SNL"}, {"indication": "wound", "species": "mouse"},
]


@pytest.fixture(scope="module")
def kb_and_studies(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    kb = open_kb(tmp_path_factory.mktemp("kbf") / "kb.sqlite")
    return kb, kb.studies()


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: ",".join(f"{k}={v}" for k, v in q.items()))
def test_same_answer_as_store(kb_and_studies, q):  # type: ignore[no-untyped-def]
    kb, studies = kb_and_studies
    want = [s.id for s in kb.studies(**q)]
    got = [s.id for s in filter_studies(studies, **q)]
    assert got == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_facet_values_select_again(kb_and_studies, data):  # type: ignore[no-untyped-def]
    """Choosing any facet value of a study as that filter's value selects the study, and the
    store agrees for the filters it has."""
    kb, studies = kb_and_studies
    s = data.draw(st.sampled_from(studies))
    facets = {k: v for k, v in facet_values(s).items() if v}
    name = data.draw(st.sampled_from(sorted(facets)))
    value = data.draw(st.sampled_from(facets[name]))
    hits = filter_studies(studies, **{name: value})
    assert s.id in {h.id for h in hits}
    if name not in ("confidence", "exclusion"):
        assert [h.id for h in hits] == [x.id for x in kb.studies(**{name: value})]


def test_bad_values_name_the_filter() -> None:
    with pytest.raises(InputError) as e:
        study_filter(species="dog")
    assert e.value.field == "species"
    with pytest.raises(InputError) as e:
        study_filter(mirna="not a mirna!")
    assert e.value.field == "mirna"
    with pytest.raises(InputError) as e:
        study_filter(confidence="certain")
    assert e.value.field == "confidence"


def test_search_terms_keep_quoted_phrases() -> None:
    assert search_terms('Microglia "spinal nerve"  ligation') == ["microglia", "spinal nerve",
                                                                  "ligation"]


def test_exclusion_statuses_from_curated_reasons(kb_and_studies) -> None:  # type: ignore[no-untyped-def]
    """A study without exclusions is 'included'; one with curated exclusions carries each
    reason, and the exclusion filter selects it by any of them."""
    from exomir.kb.filters import exclusion_statuses

    _, studies = kb_and_studies
    s = studies[0].model_copy()
    assert exclusion_statuses(s) == ["included"]
    object.__setattr__(s, "exclusions", [{"reason": "retracted"}, {"reason": "in_vitro"}])
    assert exclusion_statuses(s) == ["retracted", "in_vitro"]
    assert filter_studies([s], exclusion="retracted") == [s]
    assert filter_studies([s], exclusion="included") == []
