"""The body model: states, fluxes and dosing of one therapy, evaluated over a batch of subjects.

Time is in **days**; vesicle amounts in **particles**; miRNA in **copies per target cell**;
mRNA and protein relative to their pre-treatment level (1 = baseline). State ids are the SBML
species ids of the export (:mod:`exomir.body.sbml`). Equations (docs/body.md):

* distribution, tissue X: dX/dt = k_X_in·P − (k_X_return + k_X_deg)·X; liver and spleen take
  up from plasma by a saturable MPS term Vmax·P/(km_mps + P), Vmax = k_uptake·km_mps·mps_factor;
  dP/dt = inputs + Σ k_X_return·X − Σ uptake − k_plasma_elim·P.
* administration site (i.p., s.c., intraplantar, intranasal, topical): first-order absorption
  k_abs to its destination, loss k_site_loss; intranasal also nose→brain k_nose_brain.
* depot vehicle (ReleaseProfile F): release = dose·exp(−k_loss·τ)·F'(τ) per application,
  d depot/dt = −release − k_loss·depot.
* cells of the target tissue T: uptake vmax_cells·T/(km_cell_uptake + T) into T_cell_ev;
  processing k_endosome; cytosolic miRNA per cell gains k_endosome·cell_ev·cpv·f_escape/n_cells,
  loads into RISC (k_risc_load), decays (k_mirna_cyt_deg, k_risc_deg).
* gene g: dm/dt = k_mrna_deg·(1 − rmax_g·R/(R + k_risc_half)) − k_mrna_deg·m;
  dp/dt = k_protein_deg·(m − p).
* EV effect compartment: de/dt = k_effect·(cell_ev/n_cells − e).
* pathways: a_k = Π_g p_g^h_kg; E = emax_ev·e/(e + ec50_ev) + Σ_k w_k ln a_k.
* wound: dW/dt = k_heal_eff·exp(E)·(1 − W); pain: ds/dt = k_s·(I(t)·exp(−E) − s) with
  I(t) = 1/(1 + (t/injury_t50)^injury_hill), PWT = pwt_baseline·exp(−depth·s).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from exomir.body.params import parameter_table, profile
from exomir.body.release_default import DEFAULT_VEHICLES, WeibullRelease
from exomir.body.spec import BodySpec
from exomir.core import InputError, ParameterTable, ReleaseProfile, Route

TISSUES = ["liver", "spleen", "lung", "kidney", "brain", "spinal_cord_drg", "skin_wound", "rest"]
_TISSUE_KEY = {"liver": "liver", "spleen": "spleen", "lung": "lung", "kidney": "kidney",
               "brain": "brain", "spinal_cord_drg": "spinal", "skin_wound": "skin",
               "rest": "rest"}
VESICLE_STATES = ["depot", "site", "plasma", *TISSUES]
_SITE_ROUTES = {Route.INTRAPERITONEAL: "k_abs_ip", Route.SUBCUTANEOUS: "k_abs_sc",
                Route.INTRAPLANTAR: "k_abs_intraplantar", Route.INTRANASAL: "k_abs_intranasal",
                Route.TOPICAL: "k_abs_topical"}
RELEASE_FD_STEP_DAYS = 1e-4  # central-difference step for F'(tau), shared with the SBML export


@dataclass(frozen=True)
class Flux:
    """One rate term. ``kind`` selects the rate law; ``effects`` are (species, coefficient
    parameter names multiplied, sign) added as sign·Π params·v to d species/dt."""

    name: str
    kind: str  # lin | mm | synth_rep | release | wound | pain_drive
    on: tuple[str, ...]
    params: tuple[str, ...]
    effects: tuple[tuple[str, float, tuple[str, ...]], ...]


@dataclass
class BodyModel:
    """A fully specified model for one therapy (structure + nominal parameter values)."""

    spec: BodySpec
    species: list[str]
    fluxes: list[Flux]
    table: ParameterTable
    derived: dict[str, str]  # flat parameter -> formula over table parameters (docs/SBML)
    genes: list[str]
    rmax: dict[str, float]
    pathways: list[dict[str, object]]
    target: str
    outcome: str
    dose_dest: str
    dose_times: list[float]
    release: ReleaseProfile | None
    days: float
    units: dict[str, str] = field(default_factory=dict)

    @property
    def index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.species)}

    def gene_weights(self) -> dict[str, float]:
        """Σ over pathways of weight·h per gene: E gains Σ_g w_g·ln p_g (docs/body.md)."""
        w: dict[str, float] = {}
        for pw in self.pathways:
            for g, h in pw["genes"].items():  # type: ignore[attr-defined]
                w[g] = w.get(g, 0.0) + float(pw["weight"]) * float(h)  # type: ignore[arg-type]
        return w

    # ---- parameters -------------------------------------------------------------------
    def flat_params(self, values: Mapping[str, np.ndarray | float] | None = None,
                    n: int = 1) -> dict[str, np.ndarray]:
        """Flat (SBML) parameter arrays of shape (n,) from table values (+ overrides)."""
        base = {p.name: np.full(n, p.value, dtype=float) for p in self.table}
        for k, v in (values or {}).items():
            if k not in base:
                raise InputError("unknown parameter", field=f"body.parameters.{k}", value=k,
                                 accepted=sorted(base))
            base[k] = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
        p = base
        spec = self.spec
        inj = profile(spec.therapy.indication.value).get("injured_tissue")
        flat = dict(p)
        flat["vmax_liver"] = p["k_liver_uptake"] * p["km_mps"] * p["mps_factor"]
        flat["vmax_spleen"] = p["k_spleen_uptake"] * p["km_mps"] * p["mps_factor"]
        lig = p["ligand_factor"]
        if (spec.therapy.delivery.targeting_ligand or "").strip().lower().startswith("rvg"):
            lig = p["rvg_factor"] * 1.0
        flat["k_brain_in"] = p["k_brain_uptake"] * lig * (p["homing_factor"] if inj == "brain"
                                                            else 1.0)
        flat["k_spinal_in"] = p["k_spinal_uptake"] * lig * (
            p["homing_factor"] if inj == "spinal_cord_drg" else 1.0)
        flat["k_skin_in"] = p["k_skin_uptake"] * (p["homing_factor"] if inj == "skin_wound"
                                                  else 1.0)
        for t in ("liver", "spleen", "lung", "kidney", "rest"):
            flat[f"k_{t}_in"] = p[f"k_{t}_uptake"]
        flat["vmax_cells"] = p["vmax_cell_uptake"] * p["n_target_cells"]
        flat["inv_n_cells"] = 1.0 / p["n_target_cells"]
        flat["cpv"] = np.full(n, spec.copies_per_vesicle)
        flat["escape_per_cell"] = flat["cpv"] * p["f_escape"] / p["n_target_cells"]
        flat["dose"] = np.full(n, spec.dose_particles)
        for gene, rm in self.rmax.items():
            flat[f"rmax_{gene}"] = np.full(n, rm)
        if self.release is not None:
            flat["k_depot_loss"] = np.full(n, self.release.stability_loss_per_day)
        if self.outcome == "wound_closure":
            k_heal = p["k_heal"] * (p["diabetic_heal_factor"] if spec.diabetic else 1.0)
            if spec.route.is_vehicle:
                k_heal = k_heal * (1.0 + p["vehicle_heal_gain"])
            flat["k_heal_eff"] = k_heal
        return flat

    # ---- evaluation -------------------------------------------------------------------
    def initial_state(self, flat: Mapping[str, np.ndarray]) -> np.ndarray:
        """State array (N, n) at t = 0 before any dose."""
        n = len(next(iter(flat.values())))
        y = np.zeros((n, len(self.species)))
        ix = self.index
        for g in self.genes:
            y[:, ix[f"mrna_{g}"]] = 1.0
            y[:, ix[f"protein_{g}"]] = 1.0
        return y

    def dose_jump(self, flat: Mapping[str, np.ndarray]) -> np.ndarray:
        """Amounts (N, n) added at each administration time."""
        n = len(flat["dose"])
        d = np.zeros((n, len(self.species)))
        ix = self.index
        if self.release is not None:
            f0 = float(self.release.fraction_released(np.array([0.0]))[0])
            d[:, ix["depot"]] = flat["dose"] * (1.0 - f0)
            d[:, ix[self.dose_dest]] += flat["dose"] * f0
        else:
            d[:, ix[self.dose_dest]] = flat["dose"]
        return d


def _coef(effects: tuple[str, ...], flat: Mapping[str, np.ndarray]) -> np.ndarray | float:
    c: np.ndarray | float = 1.0
    for name in effects:
        c = c * flat[name]
    return c


def build_model(spec: BodySpec, release: ReleaseProfile | None = None) -> BodyModel:
    """Assemble states and fluxes for a therapy spec."""
    th = spec.therapy
    ind = th.indication.value
    prof = profile(ind)
    species_ = th.subject.species.value if th.subject.species else "mouse"
    table = parameter_table(ind, species_)
    if spec.body.parameters:
        unknown = set(spec.body.parameters) - {p.name for p in table}
        if unknown:
            raise InputError("unknown parameter", field="body.parameters",
                             value=sorted(unknown)[0], accepted=[p.name for p in table])
        table = table.replace(**spec.body.parameters)
    target = prof["target_tissue"]
    outcome = prof["outcome"]
    route = spec.route
    if route.is_vehicle:
        if release is None:
            v = spec.body.vehicle
            chosen: ReleaseProfile = (
                WeibullRelease(v.scale_days, v.shape, v.loss_per_day, "custom")
                if v is not None else DEFAULT_VEHICLES[route])
            release = chosen
        dose_dest = prof.get("vehicle_destination", target)
    elif route is Route.MEMBRANE_COATED_NANOPARTICLE:
        raise InputError("route not simulated by the body model", field="delivery.route",
                         value=route.value, accepted=[r.value for r in Route
                                                      if r is not route])
    else:
        release = None
        dests = prof.get("route_destinations", {})
        if route.value in dests:
            dose_dest = dests[route.value]
        elif route is Route.INTRAVENOUS:
            dose_dest = "plasma"
        elif route is Route.INTRATHECAL:
            dose_dest = "spinal_cord_drg"
        else:
            dose_dest = "site"

    genes = [t.gene.upper().replace("-", "_").replace(".", "_") for t in spec.body.targets]
    rmax = {g: t.rmax for g, t in zip(genes, spec.body.targets, strict=True)}
    cells = [f"{target}_cell_ev", f"{target}_mirna_cyt", f"{target}_mirna_risc",
             f"{target}_ev_effect"]
    gene_states = [s for g in genes for s in (f"mrna_{g}", f"protein_{g}")]
    out_state = "wound_closure" if outcome == "wound_closure" else "sensitization"
    species = [*VESICLE_STATES, *cells, *gene_states, out_state]

    fx: list[Flux] = []

    def lin(name: str, src: str, k: str, to: list[tuple[str, tuple[str, ...]]],
            consume: bool = True) -> None:
        eff = ([(src, -1.0, ())] if consume else []) + [(d, 1.0, c) for d, c in to]
        fx.append(Flux(name, "lin", (src,), (k,), tuple(eff)))

    for t in TISSUES:
        key = _TISSUE_KEY[t]
        if t in ("liver", "spleen"):
            fx.append(Flux(f"uptake_{t}", "mm", ("plasma",), (f"vmax_{t}", "km_mps"),
                           (("plasma", -1.0, ()), (t, 1.0, ()))))
        else:
            lin(f"uptake_{t}", "plasma", f"k_{key}_in", [(t, ())])
        lin(f"return_{t}", t, f"k_{key}_return", [("plasma", ())])
        lin(f"deg_{t}", t, f"k_{key}_deg", [])
    lin("elim_plasma", "plasma", "k_plasma_elim", [])
    if dose_dest == "site":
        k_abs = _SITE_ROUTES[route]
        dest = target if route is Route.TOPICAL else "plasma"
        lin("absorption", "site", k_abs, [(dest, ())])
        if route is Route.INTRANASAL:
            lin("nose_to_brain", "site", "k_nose_brain", [("brain", ())])
        lin("site_loss", "site", "k_site_loss", [])
    if release is not None:
        fx.append(Flux("release", "release", (), ("dose", "k_depot_loss"),
                       (("depot", -1.0, ()), (dose_dest, 1.0, ()))))
        lin("depot_loss", "depot", "k_depot_loss", [])
    cev, cyt, risc, eff = cells
    fx.append(Flux("cell_uptake", "mm", (target,), ("vmax_cells", "km_cell_uptake"),
                   ((target, -1.0, ()), (cev, 1.0, ()))))
    lin("endosome", cev, "k_endosome", [(cyt, ("escape_per_cell",))])
    lin("risc_loading", cyt, "k_risc_load", [(risc, ())])
    lin("cyt_decay", cyt, "k_mirna_cyt_deg", [])
    lin("risc_decay", risc, "k_risc_deg", [])
    lin("effect_in", cev, "k_effect", [(eff, ("inv_n_cells",))], consume=False)
    lin("effect_out", eff, "k_effect", [])
    for g in genes:
        fx.append(Flux(f"transcription_{g}", "synth_rep", (risc,),
                       ("k_mrna_deg", f"rmax_{g}", "k_risc_half"), ((f"mrna_{g}", 1.0, ()),)))
        lin(f"mrna_decay_{g}", f"mrna_{g}", "k_mrna_deg", [])
        lin(f"translation_{g}", f"mrna_{g}", "k_protein_deg", [(f"protein_{g}", ())],
            consume=False)
        lin(f"protein_decay_{g}", f"protein_{g}", "k_protein_deg", [])
    pathways = []
    for pw in prof["pathways"]:
        used = {str(g).upper(): float(h) for g, h in pw["genes"].items()
                if str(g).upper() in genes}
        pathways.append({"name": pw["name"], "genes": used, "weight": float(pw["weight"]),
                         "source": pw.get("source", "")})
    prot = tuple(f"protein_{g}" for g in genes)
    if outcome == "wound_closure":
        fx.append(Flux("healing", "wound", (out_state, eff, *prot),
                       ("k_heal_eff", "emax_ev", "ec50_ev"), ((out_state, 1.0, ()),)))
    else:
        fx.append(Flux("sensitization_drive", "pain_drive", (eff, *prot),
                       ("k_sensitization", "emax_ev", "ec50_ev", "injury_t50", "injury_hill"),
                       ((out_state, 1.0, ()),)))
        lin("sensitization_decay", out_state, "k_sensitization", [])
    derived = {
        "vmax_liver": "k_liver_uptake * km_mps * mps_factor",
        "vmax_spleen": "k_spleen_uptake * km_mps * mps_factor",
        "k_brain_in": "k_brain_uptake * ligand (rvg_factor if RVG else ligand_factor)"
                      " * homing_factor if injured",
        "k_spinal_in": "k_spinal_uptake * ligand * homing_factor if injured",
        "k_skin_in": "k_skin_uptake * homing_factor if injured",
        "vmax_cells": "vmax_cell_uptake * n_target_cells",
        "inv_n_cells": "1 / n_target_cells",
        "escape_per_cell": "cpv * f_escape / n_target_cells",
        "cpv": "miRNA copies per vesicle (spec)",
        "dose": "particles per administration (spec)",
        "k_heal_eff": "k_heal * diabetic_heal_factor (if diabetic) * (1 + vehicle_heal_gain)"
                      " (if vehicle)",
        "k_depot_loss": "vehicle stability_loss_per_day",
    }
    for g in genes:
        derived[f"rmax_{g}"] = f"maximal repression of {g} (spec)"
    for t in ("liver", "spleen", "lung", "kidney", "rest"):
        derived[f"k_{t}_in"] = f"k_{t}_uptake"
    units = {s: "particle" for s in [*VESICLE_STATES, cev]}
    units.update({cyt: "copy/cell", risc: "copy/cell", eff: "particle/cell"})
    units.update({s: "dimensionless" for s in [*gene_states, out_state]})
    times = sorted(th.regimen.times_days or [0.0]) if spec.dose_particles > 0 else []
    return BodyModel(spec=spec, species=species, fluxes=fx, table=table, derived=derived,
                     genes=genes, rmax=rmax, pathways=pathways, target=target, outcome=outcome,
                     dose_dest=dose_dest, dose_times=times, release=release, days=th.days,
                     units=units)


class Evaluator:
    """Batched right-hand side and analytic Jacobian for one model and N parameter sets.

    States are arrays of shape (n, N) (state-major, subjects contiguous). Linear fluxes are
    assembled once into sparse per-subject entries ``lin_vals`` (nnz, N) at (lin_rows,
    lin_cols); nonlinear fluxes (MPS and cellular Michaelis-Menten, repression, outcome,
    release forcing) are evaluated term by term with their analytic derivatives.
    """

    def __init__(self, model: BodyModel, flat: Mapping[str, np.ndarray]) -> None:
        self.model = model
        self.flat = flat
        ix = model.index
        self.n = len(model.species)
        self.N = len(flat["dose"])
        lin: dict[tuple[int, int], np.ndarray] = {}
        self.nonlin: list[tuple[Flux, list[tuple[int, np.ndarray | float]]]] = []
        for f in model.fluxes:
            effs = [(ix[s], sign * _coef(c, flat)) for s, sign, c in f.effects]
            if f.kind == "lin":
                j = ix[f.on[0]]
                k = flat[f.params[0]]
                for i, c in effs:
                    lin[(i, j)] = lin.get((i, j), np.zeros(self.N)) + c * k
            else:
                self.nonlin.append((f, effs))
        keys = sorted(lin)
        self.lin_rows = np.array([k[0] for k in keys], dtype=int)
        self.lin_cols = np.array([k[1] for k in keys], dtype=int)
        self.lin_vals = np.array([lin[k] for k in keys]).reshape(len(keys), self.N)
        rows_present, starts = np.unique(self.lin_rows, return_index=True)
        ends = [*starts[1:].tolist(), len(keys)]
        self._row_slices = [(int(r), int(a), int(b)) for r, a, b in
                            zip(rows_present, starts, ends, strict=True)]
        self.pattern = self._pattern()
        self.release_times = np.asarray(model.dose_times, dtype=float)
        self._w_gene = model.gene_weights()

    @property
    def A(self) -> np.ndarray:
        """Dense linear part (N, n, n) (for inspection and small batches)."""
        a = np.zeros((self.N, self.n, self.n))
        a[:, self.lin_rows, self.lin_cols] = self.lin_vals.T
        return a

    def _pattern(self) -> list[tuple[int, int]]:
        ix = self.model.index
        nz = {(int(i), int(j)) for i, j in zip(self.lin_rows, self.lin_cols, strict=True)}
        for f, effs in self.nonlin:
            for i, _ in effs:
                for s in f.on:
                    nz.add((i, ix[s]))
        nz |= {(i, i) for i in range(self.n)}
        return sorted(nz)

    def effect(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """E (N,), dE/d effect-compartment (N,), dE/d protein_g, for y (n, N)."""
        m = self.model
        fl = self.flat
        e = y[m.index[f"{m.target}_ev_effect"]]
        den = e + fl["ec50_ev"]
        E = fl["emax_ev"] * e / den
        dE_de = fl["emax_ev"] * fl["ec50_ev"] / den**2
        dE_dp: dict[str, np.ndarray] = {}
        for g, w in self._w_gene.items():
            p = np.maximum(y[m.index[f"protein_{g}"]], 1e-12)
            E = E + w * np.log(p)
            dE_dp[g] = w / p
        return E, dE_de, dE_dp

    def release_rate(self, t: float) -> np.ndarray:
        """Σ_i exp(−k_loss τ_i)·F'(τ_i) per unit dose (central difference, shared with SBML)."""
        rel = self.model.release
        assert rel is not None
        h = RELEASE_FD_STEP_DAYS
        tau = t - self.release_times
        tau = tau[tau >= 0]
        if tau.size == 0:
            return np.zeros(self.N)
        lo = np.maximum(tau - h, 0.0)
        dF = (rel.fraction_released(tau + h) - rel.fraction_released(lo)) / (tau + h - lo)
        k = self.flat["k_depot_loss"]
        return np.asarray(np.exp(-np.outer(k, tau)) @ dF)

    def linear(self, y: np.ndarray) -> np.ndarray:
        """Linear part of dy/dt for y (n, N)."""
        prod = self.lin_vals * y[self.lin_cols]
        dy = np.zeros_like(y)
        for r, a, b in self._row_slices:  # row sums; faster than ufunc.reduceat on axis 0
            dy[r] = prod[a] if b - a == 1 else prod[a:b].sum(axis=0)
        return dy

    def rhs(self, t: float, y: np.ndarray, jac: bool = False
            ) -> tuple[np.ndarray, list[tuple[int, int, np.ndarray]]]:
        """dy/dt (n, N) and, when asked, nonlinear Jacobian entries (i, j, values (N,))."""
        dy = self.linear(y)
        ent: list[tuple[int, int, np.ndarray]] = []
        ix = self.model.index
        fl = self.flat
        for f, effs in self.nonlin:
            parts: list[tuple[int, np.ndarray]] = []
            if f.kind == "mm":
                x = y[ix[f.on[0]]]
                vmax, km = fl[f.params[0]], fl[f.params[1]]
                den = km + np.maximum(x, 0.0)
                v = vmax * x / den
                parts = [(ix[f.on[0]], vmax * km / den**2)]
            elif f.kind == "synth_rep":
                r = np.maximum(y[ix[f.on[0]]], 0.0)
                k, rm, kh = fl[f.params[0]], fl[f.params[1]], fl[f.params[2]]
                v = k * (1.0 - rm * r / (r + kh))
                parts = [(ix[f.on[0]], -k * rm * kh / (r + kh) ** 2)]
            elif f.kind == "release":
                v = fl["dose"] * self.release_rate(t)
            elif f.kind == "wound":
                w = y[ix[f.on[0]]]
                E, dE_de, dE_dp = self.effect(y)
                base = fl["k_heal_eff"] * np.exp(E)
                v = base * (1.0 - w)
                parts = [(ix[f.on[0]], -base), (ix[f.on[1]], v * dE_de)]
                parts += [(ix[f"protein_{g}"], v * d) for g, d in dE_dp.items()]
            elif f.kind == "pain_drive":
                E, dE_de, dE_dp = self.effect(y)
                inj = 1.0 / (1.0 + (t / fl["injury_t50"]) ** fl["injury_hill"])
                v = fl["k_sensitization"] * inj * np.exp(-E)
                parts = [(ix[f.on[0]], -v * dE_de)]
                parts += [(ix[f"protein_{g}"], -v * d) for g, d in dE_dp.items()]
            else:  # pragma: no cover - structure is built above
                raise AssertionError(f.kind)
            for i, c in effs:
                dy[i] += c * v
                if jac:
                    for j, dv in parts:
                        ent.append((i, j, c * dv))
        return dy, ent

    def dfdt(self, t: float, y: np.ndarray, h: float) -> np.ndarray:
        """Explicit time derivative of the right-hand side (release forcing, injury drive)."""
        out = np.zeros_like(y)
        fl = self.flat
        for f, effs in self.nonlin:
            if f.kind == "release":
                d = max(1e-7, 1e-6 * abs(t))
                dv = fl["dose"] * (self.release_rate(t + d) - self.release_rate(t)) / d
            elif f.kind == "pain_drive":
                E, _, _ = self.effect(y)
                u = (max(t, 1e-12) / fl["injury_t50"]) ** fl["injury_hill"]
                inj = 1.0 / (1.0 + u)
                dinj = -inj**2 * fl["injury_hill"] * u / max(t, 1e-12)
                dv = fl["k_sensitization"] * dinj * np.exp(-E)
            else:
                continue
            for i, c in effs:
                out[i] += c * dv
        return out
