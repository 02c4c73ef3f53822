"""The body model: states, fluxes and dosing of one therapy, evaluated over a batch of subjects.

Time is in **days**; vesicle amounts in **particles**; miRNA in **copies per target cell**;
mRNA and protein relative to their pre-treatment level (1 = baseline). State ids are the SBML
species ids of the export (:mod:`exomir.body.sbml`). Equations (docs/body.md, same symbols):

* distribution, tissue X: dX/dt = k_X_in·P − (k_X_return + k_X_deg)·X; liver and spleen take
  up from plasma by a saturable MPS term Vmax·P/(km_mps + P), Vmax = k_uptake·km_mps·mps_factor;
  dP/dt = inputs + Σ k_X_return·X − Σ uptake − k_plasma_elim·P.
* CSF (intrathecal dose): dCSF/dt = −(k_csf_bulk + k_csf_spinal_in + k_csf_brain)·CSF, bulk
  outflow to plasma, uptake into spinal cord/DRG and brain.
* repeat i.v. dosing: priming M' = k_abc_prime·P/(P + km_abc) − k_abc_transit·M, response
  A' = k_abc_transit·M, extra clearance plasma -> liver k_abc_max·A/(A + 1)·P.
* administration site (i.p., s.c., intraplantar, intranasal, topical): first-order absorption
  k_abs to its destination, loss k_site_loss; intranasal also nose -> brain at
  k_nose_brain = f_nose_brain/(1 − f_nose_brain)·(k_abs_intranasal + k_site_loss).
* depot vehicle (ReleaseProfile F): release = dose·exp(−k_loss·τ)·F'(τ) per application.
* target cells of tissue T: uptake vmax_cells·T/(km_cells + T), km_cells =
  km_cell_uptake_per_cell·n_cells; processing k_endosome; each cargo miRNA i gains
  k_endosome·cell_ev·cpv_i·f_escape·mech_mirna/n_cells in the cytosol (C_i).
* RISC: endogenous duplexes are made at p_endo_mirna into C_endo; every pool j (endogenous and
  each miRNA) loads at k_risc_load·C_j·(1 − Σ_l R_l / risc_capacity) into R_j; C_j decays at
  k_mirna_cyt_deg, R_j at k_risc_deg. The endogenous pool starts at its steady state.
* gene g: dm/dt = k_mrna_deg·Π_{i targets g}(1 − rmax_ig·R_i/(R_i + k_risc_half)) − k_mrna_deg·m;
  dp/dt = k_protein_deg·(m − p).
* effect compartment: de/dt = k_effect·(cell_ev/n_cells − e).
* E = E_vehicle + mech_vesicle·emax_ev·e/(e + ec50_ev) + Σ_g wg_g·ln p_g, wg_g = Σ_k
  pw_k_weight·pw_k_g (pathway activities a_k = Π_g p_g^pw_k_g).
* wound: closure W = C + R, dC/dt = k_contraction_eff·exp(E)·(f_contraction − C),
  dR/dt = k_reepi_eff·exp(E)·G·(1 − f_contraction − R), gated by granulation tissue G that
  matures in three stages: G1' = k(1 − G1), G2' = k(G1 − G2), G' = k(G2 − G), all 0 at
  t = 0 (k = k_granulation; G = 1 − e^(−kt)(1 + kt + (kt)²/2): re-epithelialisation needs a
  wound bed, hence the stationary phase); E_vehicle = ln(1 + mech_vehicle·gain).
* pain: ds/dt = k_sensitization·(I(t)·exp(−E) − s), I(t) = 1/(1 + (t/injury_t50)^injury_hill);
  PWT = min(pwt_baseline·exp(−depth·s), pwt_cutoff), PWL = min(pwl_baseline·
  exp(−depth_thermal·s), pwl_cutoff); E_vehicle = mech_vehicle·vehicle_effect.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from exomir.body.params import parameter_table, profile
from exomir.body.release_default import ParamFirstOrderRelease, release_for
from exomir.body.spec import BodySpec, CargoMirna, Target
from exomir.core import InputError, ParameterTable, ReleaseProfile, Route

TISSUES = ["liver", "spleen", "lung", "kidney", "brain", "spinal_cord_drg", "skin_wound", "rest"]
_TISSUE_KEY = {"liver": "liver", "spleen": "spleen", "lung": "lung", "kidney": "kidney",
               "brain": "brain", "spinal_cord_drg": "spinal", "skin_wound": "skin",
               "rest": "rest"}
VESICLE_STATES = ["depot", "site", "plasma", *TISSUES, "csf"]
_SITE_ROUTES = {Route.INTRAPERITONEAL: "k_abs_ip", Route.SUBCUTANEOUS: "k_abs_sc",
                Route.INTRAPLANTAR: "k_abs_intraplantar", Route.INTRANASAL: "k_abs_intranasal",
                Route.TOPICAL: "k_abs_topical"}
RELEASE_FD_STEP_DAYS = 1e-4  # central-difference step for F'(tau), shared with the SBML export
# parameters that are fractions (hard bound [0, 1]) when given as overrides
FRACTIONS = {"f_escape", "mps_factor", "f_contraction", "f_nose_brain", "mech_mirna",
             "mech_vesicle", "mech_vehicle", "hypersensitivity_fraction"}
OVERRIDE_SPAN = 1e4  # overrides may exceed a parameter's plausible range by at most this factor


@dataclass(frozen=True)
class Flux:
    """One rate term. ``kind`` selects the rate law; ``effects`` are (species, sign,
    coefficient parameter names multiplied) added as sign·Π params·v to d species/dt.

    kinds: lin (k·x), mm (vmax·x/(km + x)), zero (k), risc_load (k·c·(1 − inv_cap·Σ R)),
    sat_mod (k·x·a/(a + 1)), synth_rep (k·Π_i(1 − rmax_i·r_i/(r_i + K))), release, wound
    (k·exp(E)·(cap − x)), pain_drive (k·I(t)·exp(−E))."""

    name: str
    kind: str
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
    derived: dict[str, str]  # flat parameter -> SBML infix over table parameters
    genes: list[str]
    targets: list[Target]
    mirnas: list[CargoMirna]
    pathways: list[dict[str, object]]
    target: str
    outcome: str
    dose_dest: str
    dose_times: list[float]
    release: ReleaseProfile | None
    days: float
    effect_genes: list[str] = field(default_factory=list)
    vehicle_type: str | None = None
    vehicle_param: str | None = None
    release_note: str = ""
    units: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)  # spec numbers -> what they are

    @property
    def index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.species)}

    @property
    def rmax(self) -> dict[str, float]:
        """Maximal repression per (miRNA, gene) as flat parameter names ``rmax_<mir>_<gene>``."""
        return {f"rmax_{t.mirna}_{t.gene}": t.rmax for t in self.targets}

    def risc_state(self, mirna_id: str) -> str:
        return f"{self.target}_risc_{mirna_id}"

    def cyt_state(self, mirna_id: str) -> str:
        return f"{self.target}_cyt_{mirna_id}"

    def gene_weight_formula(self, gene: str) -> str:
        terms = [f"pw_{pw['name']}_weight * pw_{pw['name']}_{gene}" for pw in self.pathways
                 if gene in pw["genes"]]  # type: ignore[operator]
        return " + ".join(terms) or "0"

    # ---- parameters -------------------------------------------------------------------
    def check_values(self, values: Mapping[str, np.ndarray | float], where: str) -> None:
        """Overrides must be finite, respect hard bounds (>= 0 unless the table range is
        negative; fractions <= 1) and stay within OVERRIDE_SPAN of the plausible range."""
        for k, v in values.items():
            if k not in self.table:
                raise InputError("unknown parameter", field=f"{where}.{k}", value=k,
                                 accepted=", ".join(self.table.names()))
            a = np.asarray(v, dtype=float)
            p = self.table[k]
            ref = max(abs(p.value), abs(p.high or 0.0), abs(p.low or 0.0), 1e-300)
            neg_ok = (p.low is not None and p.low < 0) or p.value < 0
            bad = None
            if not np.all(np.isfinite(a)):
                bad, acc = a[~np.isfinite(a)].flat[0], "a finite number"
            elif not neg_ok and np.any(a < 0):
                bad, acc = a[a < 0].flat[0], ">= 0"
            elif k in FRACTIONS and np.any(a > 1):
                bad, acc = a[a > 1].flat[0], "a fraction in [0, 1]"
            elif np.any(np.abs(a) > OVERRIDE_SPAN * ref):
                bad = a[np.abs(a) > OVERRIDE_SPAN * ref].flat[0]
                acc = f"|value| <= {OVERRIDE_SPAN * ref:.3g} ({OVERRIDE_SPAN:g} x its range)"
            if bad is not None:
                rng = f" (plausible {p.low:g}-{p.high:g} {p.unit})" if p.low is not None \
                    and p.high is not None else f" (table value {p.value:g} {p.unit})"
                raise InputError("parameter value out of bounds", field=f"{where}.{k}",
                                 value=float(bad), accepted=acc + rng)

    def flat_params(self, values: Mapping[str, np.ndarray | float] | None = None,
                    n: int = 1) -> dict[str, np.ndarray]:
        """Flat (SBML) parameter arrays of shape (n,) from table values (+ overrides)."""
        base = {p.name: np.full(n, p.value, dtype=float) for p in self.table}
        for k, v in (values or {}).items():
            if k not in base:
                raise InputError("unknown parameter", field=f"body.parameters.{k}", value=k,
                                 accepted=sorted(base))
            base[k] = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
        flat = dict(base)
        n_ = {"dose": np.full(n, self.spec.dose_particles)}
        for m in self.mirnas:
            if m.copies_per_vesicle is not None:
                n_[f"cpv_{m.id}"] = np.full(n, m.copies_per_vesicle)
        for name, rm in self.rmax.items():
            n_[name] = np.full(n, rm)
        if self.release is not None:
            n_["k_depot_loss"] = np.full(n, self.release.stability_loss_per_day)
        flat.update(n_)
        # derived parameters: the same infix formulas the SBML export writes as initial
        # assignments, evaluated over the subjects (one truth for numpy, kernel and SBML)
        env = {"ln": np.log, "sqrt": np.sqrt, "exp": np.exp, "__builtins__": {}}
        for name, expr in self.derived.items():
            val = eval(expr.replace("^", "**"), env, flat)
            flat[name] = np.broadcast_to(np.asarray(val, dtype=float), (n,)).copy()
        return flat

    # ---- evaluation -------------------------------------------------------------------
    def initial_state(self, flat: Mapping[str, np.ndarray]) -> np.ndarray:
        """State array (N, n) at t = 0 before any dose: genes at baseline, the endogenous
        miRNA pool at its steady state (:func:`endogenous_steady_state`)."""
        n = len(next(iter(flat.values())))
        y = np.zeros((n, len(self.species)))
        ix = self.index
        for g in self.genes:
            y[:, ix[f"mrna_{g}"]] = 1.0
            y[:, ix[f"protein_{g}"]] = 1.0
        c0, r0 = endogenous_steady_state(flat)
        y[:, ix[self.cyt_state("endo")]] = c0
        y[:, ix[self.risc_state("endo")]] = r0
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


def endogenous_steady_state(flat: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Steady state (C_endo, R_endo) of the endogenous pool without delivered miRNA.

    With a = k_risc_load/k_mirna_cyt_deg, A = risc_capacity, p = p_endo_mirna, kr = k_risc_deg:
    kr·R = a·(p − kr·R)·(1 − R/A), i.e. α R² − β R + γ = 0 with α = a·kr/A,
    β = a·p/A + a·kr + kr, γ = a·p; R = 2γ/(β + sqrt(β² − 4αγ)) (the root below A),
    C = (p − kr·R)/k_mirna_cyt_deg. The same formula is the SBML initial assignment."""
    kl, kc, kr = flat["k_risc_load"], flat["k_mirna_cyt_deg"], flat["k_risc_deg"]
    A, p = flat["risc_capacity"], flat["p_endo_mirna"]
    a = kl / kc
    alpha = a * kr / A
    beta = a * p / A + a * kr + kr
    gamma = a * p
    r = 2.0 * gamma / (beta + np.sqrt(np.maximum(beta**2 - 4.0 * alpha * gamma, 0.0)))
    return (p - kr * r) / kc, r


def endogenous_infix() -> tuple[str, str]:
    """SBML infix of (C_endo(0), R_endo(0)), same formula as :func:`endogenous_steady_state`."""
    a = "(k_risc_load / k_mirna_cyt_deg)"
    alpha = f"({a} * k_risc_deg / risc_capacity)"
    beta = f"({a} * p_endo_mirna / risc_capacity + {a} * k_risc_deg + k_risc_deg)"
    gamma = f"({a} * p_endo_mirna)"
    r = f"(2 * {gamma} / ({beta} + sqrt({beta}^2 - 4 * {alpha} * {gamma})))"
    return f"((p_endo_mirna - k_risc_deg * {r}) / k_mirna_cyt_deg)", r


def _coef(effects: tuple[str, ...], flat: Mapping[str, np.ndarray]) -> np.ndarray | float:
    c: np.ndarray | float = 1.0
    for name in effects:
        c = c * flat[name]
    return c


def _vehicle_param(table: ParameterTable, outcome: str, vtype: str | None) -> str | None:
    if vtype is None:
        return None
    stem = "vehicle_gain_" if outcome == "wound_closure" else "vehicle_effect_"
    return stem + vtype if stem + vtype in table else stem + "generic"


def build_model(spec: BodySpec, release: ReleaseProfile | None = None) -> BodyModel:
    """Assemble states and fluxes for a therapy spec."""
    th = spec.therapy
    ind = th.indication.value
    prof = profile(ind)
    table = parameter_table(ind, spec.species)
    target = prof["target_tissue"]
    outcome = prof["outcome"]
    route = spec.route
    mech = spec.body.mechanisms
    table = table.replace(mech_mirna=float(mech.mirna), mech_vesicle=float(mech.vesicle),
                          mech_vehicle=float(mech.vehicle))
    if spec.body.parameters:
        tmp = BodyModel(spec=spec, species=[], fluxes=[], table=table, derived={}, genes=[],
                        targets=[], mirnas=[], pathways=[], target=target, outcome=outcome,
                        dose_dest="", dose_times=[], release=None, days=th.days)
        tmp.check_values(spec.body.parameters, "body.parameters")
        table = table.replace(**spec.body.parameters)
    notes: list[str] = []
    release_note = ""
    if route.is_vehicle:
        release, release_note = release_for(spec, table.value("t50_release_generic"), release)
        dose_dest = prof.get("vehicle_destination", target)
    elif route is Route.MEMBRANE_COATED_NANOPARTICLE:
        raise InputError("route not simulated by the body model", field="delivery.route",
                         value=route.value, accepted=[r.value for r in Route
                                                      if r is not route])
    else:
        if release is not None or spec.body.release_preset or spec.body.release_profile:
            notes.append(f"release profile ignored: route {route.value} has no vehicle")
        release = None
        dests = prof.get("route_destinations", {})
        if route.value in dests:
            dose_dest = dests[route.value]
        elif route is Route.INTRAVENOUS:
            dose_dest = "plasma"
        elif route is Route.INTRATHECAL:
            dose_dest = "csf"
        else:
            dose_dest = "site"
    mirnas = spec.mirnas
    targets = spec.targets
    genes = list(dict.fromkeys(t.gene for t in targets))
    in_pathway = {str(g).upper() for pw in prof["pathways"] for g in pw["genes"]}
    effect_genes = [g for g in genes if g in in_pathway]
    vtype = spec.vehicle_type
    vparam = _vehicle_param(table, outcome, vtype)
    iv = route is Route.INTRAVENOUS
    cells = [f"{target}_cell_ev", f"{target}_ev_effect"]
    pools = ["endo", *[m.id for m in mirnas]]
    risc_states = [s for j in pools for s in (f"{target}_cyt_{j}", f"{target}_risc_{j}")]
    gene_states = [s for g in genes for s in (f"mrna_{g}", f"protein_{g}")]
    out_states = (["wound_granulation_1", "wound_granulation_2", "wound_granulation",
                   "wound_contraction", "wound_reepithelialisation"]
                  if outcome == "wound_closure" else ["sensitization"])
    abc = ["abc_priming", "abc_response"] if iv else []
    # compartments this route never reaches are left out (their amount is identically 0):
    # the depot without a vehicle, the administration site without a site route, the CSF
    # without an intrathecal dose
    absent = set()
    if release is None:
        absent.add("depot")
    if dose_dest != "site":
        absent.add("site")
    if dose_dest != "csf":
        absent.add("csf")
    vesicles = [v for v in VESICLE_STATES if v not in absent]
    species = [*vesicles, *abc, *cells, *risc_states, *gene_states, *out_states]

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
    if "csf" not in absent:
        lin("csf_bulk_outflow", "csf", "k_csf_bulk", [("plasma", ())])
        lin("csf_to_spinal", "csf", "k_csf_spinal_in", [("spinal_cord_drg", ())])
        lin("csf_to_brain", "csf", "k_csf_brain", [("brain", ())])
    if iv:
        fx.append(Flux("abc_priming_in", "mm", ("plasma",), ("k_abc_prime", "km_abc"),
                       (("abc_priming", 1.0, ()),)))
        lin("abc_maturation", "abc_priming", "k_abc_transit", [("abc_response", ())])
        fx.append(Flux("abc_clearance", "sat_mod", ("plasma", "abc_response"), ("k_abc_max",),
                       (("plasma", -1.0, ()), ("liver", 1.0, ()))))
    if dose_dest == "site":
        k_abs = _SITE_ROUTES[route]
        dest = target if route is Route.TOPICAL else "plasma"
        lin("absorption", "site", k_abs, [(dest, ())])
        if route is Route.INTRANASAL:
            lin("nose_to_brain", "site", "k_nose_brain", [("brain", ())])
        lin("site_loss", "site", "k_site_loss", [])
    if isinstance(release, ParamFirstOrderRelease):
        # first-order release with in-depot loss is linear in the depot: with
        # depot(τ) = dose·e^(−(k + k_loss)τ), dose·e^(−k_loss τ)·F'(τ) = k·depot exactly
        lin("release", "depot", release.param, [(dose_dest, ())])
        lin("depot_loss", "depot", "k_depot_loss", [])
    elif release is not None:
        fx.append(Flux("release", "release", (), ("dose", "k_depot_loss"),
                       (("depot", -1.0, ()), (dose_dest, 1.0, ()))))
        lin("depot_loss", "depot", "k_depot_loss", [])
    cev, eff = cells
    fx.append(Flux("cell_uptake", "mm", (target,), ("vmax_cells", "km_cells"),
                   ((target, -1.0, ()), (cev, 1.0, ()))))
    lin("endosome", cev, "k_endosome",
        [(f"{target}_cyt_{m.id}", (f"escape_{m.id}",)) for m in mirnas])
    lin("effect_in", cev, "k_effect", [(eff, ("inv_n_cells",))], consume=False)
    lin("effect_out", eff, "k_effect", [])
    fx.append(Flux("endo_production", "zero", (), ("p_endo_mirna",),
                   ((f"{target}_cyt_endo", 1.0, ()),)))
    all_risc = tuple(f"{target}_risc_{j}" for j in pools)
    for j in pools:
        c, r = f"{target}_cyt_{j}", f"{target}_risc_{j}"
        fx.append(Flux(f"risc_loading_{j}", "risc_load", (c, *all_risc),
                       ("k_risc_load", "inv_risc_capacity"), ((c, -1.0, ()), (r, 1.0, ()))))
        lin(f"cyt_decay_{j}", c, "k_mirna_cyt_deg", [])
        lin(f"risc_decay_{j}", r, "k_risc_deg", [])
    for g in genes:
        mine = [t for t in targets if t.gene == g]
        fx.append(Flux(f"transcription_{g}", "synth_rep",
                       tuple(f"{target}_risc_{t.mirna}" for t in mine),
                       ("k_mrna_deg", "k_risc_half", *(f"rmax_{t.mirna}_{g}" for t in mine)),
                       ((f"mrna_{g}", 1.0, ()),)))
        lin(f"mrna_decay_{g}", f"mrna_{g}", "k_mrna_deg", [])
        lin(f"translation_{g}", f"mrna_{g}", "k_protein_deg", [(f"protein_{g}", ())],
            consume=False)
        lin(f"protein_decay_{g}", f"protein_{g}", "k_protein_deg", [])
    pathways = []
    for pw in prof["pathways"]:
        used = [str(g).upper() for g in pw["genes"] if str(g).upper() in genes]
        pathways.append({"name": pw["name"], "genes": used, "all_genes": list(pw["genes"]),
                         "source": pw.get("source", "")})
    prot = tuple(f"protein_{g}" for g in effect_genes)
    if outcome == "wound_closure":
        fx.append(Flux("healing_contraction", "wound", ("wound_contraction", eff, *prot),
                       ("k_contraction_eff", "f_contraction"),
                       (("wound_contraction", 1.0, ()),)))
        # granulation tissue matures through three stages (Erlang-3 onset, mean 3/k days)
        fx.append(Flux("granulation_onset", "zero", (), ("k_granulation",),
                       (("wound_granulation_1", 1.0, ()),)))
        chain = ["wound_granulation_1", "wound_granulation_2", "wound_granulation"]
        for a, b in itertools.pairwise(chain):
            lin(f"{b}_in", a, "k_granulation", [(b, ())], consume=False)
        for a in chain:
            lin(f"{a}_turnover", a, "k_granulation", [])
        fx.append(Flux("healing_reepithelialisation", "wound",
                       ("wound_reepithelialisation", eff, *prot, "wound_granulation"),
                       ("k_reepi_eff", "cap_reepi"),
                       (("wound_reepithelialisation", 1.0, ()),)))
    else:
        fx.append(Flux("sensitization_drive", "pain_drive", (eff, *prot),
                       ("k_sensitization", "injury_t50", "injury_hill"),
                       (("sensitization", 1.0, ()),)))
        lin("sensitization_decay", "sensitization", "k_sensitization", [])
    inj = prof.get("injured_tissue")
    rvg = (th.delivery.targeting_ligand or "").strip().lower().startswith("rvg")

    def mult(base: str, ligand: bool, tissue: str) -> str:
        return base + (" * rvg_factor" if ligand and rvg else "") + (
            " * homing_factor" if inj == tissue else "")

    # derived parameters as SBML infix over table parameters (initial assignments in the
    # export, so PEtab tools that estimate a table parameter see the same model)
    derived = {
        "vmax_liver": "k_liver_uptake * km_mps * mps_factor",
        "vmax_spleen": "k_spleen_uptake * km_mps * mps_factor",
        "k_brain_in": mult("k_brain_uptake", True, "brain"),
        "k_spinal_in": mult("k_spinal_uptake", True, "spinal_cord_drg"),
        "k_skin_in": mult("k_skin_uptake", False, "skin_wound"),
        "k_csf_spinal_in": mult("k_csf_spinal", True, "spinal_cord_drg"),
        "k_nose_brain": "f_nose_brain / (1 - f_nose_brain) * (k_abs_intranasal + k_site_loss)",
        "n_cells": ("wound_area_cm2 * wound_cells_per_cm2" if outcome == "wound_closure"
                    else "n_target_cells"),
        "vmax_cells": "vmax_cell_uptake * n_cells",
        "km_cells": "km_cell_uptake_per_cell * n_cells",
        "inv_n_cells": "1 / n_cells",
        "inv_risc_capacity": "1 / risc_capacity",
        "emax_eff": "mech_vesicle * emax_ev",
        "E_vehicle": ((f"ln(1 + mech_vehicle * {vparam})" if outcome == "wound_closure"
                       else f"mech_vehicle * {vparam}") if vparam else "0"),
    }
    if outcome == "wound_closure":
        diab = " * diabetic_heal_factor" if spec.diabetic else ""
        derived.update({"k_contraction_eff": "k_contraction" + diab,
                        "k_reepi_eff": "k_reepi" + diab, "cap_reepi": "1 - f_contraction"})
    if isinstance(release, ParamFirstOrderRelease):
        derived[release.param] = "ln(2) / t50_release_generic"
    for t in ("liver", "spleen", "lung", "kidney", "rest"):
        derived[f"k_{t}_in"] = f"k_{t}_uptake"
    # numbers that come from the spec (not the table), with what they are
    constants = {"dose": "particles per administration (spec; converted from ug if the "
                         "dose is a mass of protein)"}
    if release is not None:
        constants["k_depot_loss"] = (f"in-depot vesicle loss of release profile "
                                     f"{getattr(release, 'name', '')!r} (1/day)")
    for m in mirnas:
        if m.copies_per_vesicle is None:
            derived[f"cpv_{m.id}"] = "native_copies_per_vesicle"
        else:
            constants[f"cpv_{m.id}"] = f"copies of {m.name} per vesicle (spec)"
        derived[f"escape_{m.id}"] = f"cpv_{m.id} * f_escape * mech_mirna / n_cells"
    for tg in targets:
        constants[f"rmax_{tg.mirna}_{tg.gene}"] = (f"maximal repression of {tg.gene} by "
                                                   f"{tg.mirna} (spec: max_repression or "
                                                   "1 - 2^log2fc)")
    model = BodyModel(spec=spec, species=species, fluxes=fx, table=table, derived=derived,
                      genes=genes, targets=targets, mirnas=mirnas, pathways=pathways,
                      target=target, outcome=outcome, dose_dest=dose_dest, dose_times=[],
                      release=release, days=th.days, effect_genes=effect_genes,
                      vehicle_type=vtype, vehicle_param=vparam, release_note=release_note,
                      notes=notes, constants=constants)
    for g in effect_genes:
        derived[f"wg_{g}"] = model.gene_weight_formula(g)
    units = {s: "particle" for s in [*vesicles, cev]}
    units.update({s: "copy/cell" for s in risc_states})
    units.update({eff: "particle/cell"})
    units.update({s: "dimensionless" for s in [*gene_states, *out_states, *abc]})
    model.units = units
    model.dose_times = sorted(th.regimen.times_days or [0.0]) if spec.dose_particles > 0 else []
    return model


class Evaluator:
    """Batched right-hand side and analytic Jacobian for one model and N parameter sets.

    States are arrays of shape (n, N) (state-major, subjects contiguous). Linear fluxes are
    assembled once into sparse per-subject entries ``lin_vals`` (nnz, N) at (lin_rows,
    lin_cols); nonlinear fluxes are evaluated term by term with their analytic derivatives.
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
        E = fl["E_vehicle"] + fl["emax_eff"] * e / den
        dE_de = fl["emax_eff"] * fl["ec50_ev"] / den**2
        dE_dp: dict[str, np.ndarray] = {}
        for g in m.effect_genes:
            w = fl[f"wg_{g}"]
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
        k = self.flat["k_depot_loss"]
        dF = (rel.fraction_released(tau + h) - rel.fraction_released(lo)) / (tau + h - lo)
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
            elif f.kind == "zero":
                v = fl[f.params[0]] * np.ones(self.N)
            elif f.kind == "risc_load":
                c = y[ix[f.on[0]]]
                k, inv = fl[f.params[0]], fl[f.params[1]]
                tot = sum(y[ix[s]] for s in f.on[1:])
                free = 1.0 - inv * tot
                v = k * c * free
                parts = [(ix[f.on[0]], k * free)]
                for s in f.on[1:]:
                    parts.append((ix[s], -k * c * inv))
            elif f.kind == "sat_mod":
                x, a = y[ix[f.on[0]]], np.maximum(y[ix[f.on[1]]], 0.0)
                k = fl[f.params[0]]
                sat = a / (a + 1.0)
                v = k * x * sat
                parts = [(ix[f.on[0]], k * sat), (ix[f.on[1]], k * x / (a + 1.0) ** 2)]
            elif f.kind == "synth_rep":
                k, kh = fl[f.params[0]], fl[f.params[1]]
                facs = []
                dfacs = []
                for s, rname in zip(f.on, f.params[2:], strict=True):
                    r = np.maximum(y[ix[s]], 0.0)
                    rm = fl[rname]
                    facs.append(1.0 - rm * r / (r + kh))
                    dfacs.append(-rm * kh / (r + kh) ** 2)
                prod = np.ones(self.N)
                for q in facs:
                    prod = prod * q
                v = k * prod
                for a_, (s, dq) in enumerate(zip(f.on, dfacs, strict=True)):
                    others = np.ones(self.N)
                    for b_, q in enumerate(facs):
                        if b_ != a_:
                            others = others * q
                    parts.append((ix[s], k * others * dq))
            elif f.kind == "release":
                v = fl["dose"] * self.release_rate(t)
            elif f.kind == "wound":
                w = y[ix[f.on[0]]]
                E, dE_de, dE_dp = self.effect(y)
                gated = f.on[-1] == "wound_granulation"
                gate = y[ix[f.on[-1]]] if gated else 1.0
                base = fl[f.params[0]] * np.exp(E) * gate
                v = base * (fl[f.params[1]] - w)
                parts = [(ix[f.on[0]], -base), (ix[f.on[1]], v * dE_de)]
                parts += [(ix[f"protein_{g}"], v * d) for g, d in dE_dp.items()]
                if gated:
                    parts.append((ix[f.on[-1]], fl[f.params[0]] * np.exp(E)
                                  * (fl[f.params[1]] - w)))
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
