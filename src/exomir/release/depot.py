"""Mechanistic depot models: hydrogel, microneedle, scaffold, and EV stability in storage.

Hydrogel depot (:class:`GelDepot`). A burst fraction F0 leaves at once; the rest leaves either
by diffusion through the gel mesh or when the gel around it degrades (first order, k_deg).
Treating the two escape routes as independent, the fraction still in the gel is
``(1 - F0) S(tau) exp(-k_deg t)`` and F = 1 - that, where S is the fraction remaining in a
slab releasing by Fickian diffusion (Crank 1975, The Mathematics of Diffusion, eqs 4.17-4.18;
Siepmann & Siepmann 2012 doi:10.1016/j.jconrel.2011.10.006, slab, constant D, perfect sink):

* tau = D_gel t / L^2, L the slab thickness releasing from both faces (a gel of thickness h on
  an impermeable wound bed releasing from one face has L = 2 h);
* tau < 0.02: S = 1 - 4 sqrt(tau / pi) (short-time solution; next term ~ exp(-1/(4 tau)), < 1e-5);
* tau >= 0.02: S = 8/pi^2 sum_{n=0}^{5} exp(-(2n + 1)^2 pi^2 tau) / (2n + 1)^2 (truncation
  error < 1e-10).

D_gel from the vesicle radius r_s, mesh size xi and polymer volume fraction phi by the
Lustig-Peppas free-volume/obstruction model (Lustig SR, Peppas NA 1988 J Appl Polym Sci
36:735): D_gel / D0 = (1 - r_s/xi) exp(-Y phi/(1 - phi)), zero when r_s >= xi (the vesicle is
trapped and leaves only as the gel degrades); D0 = k_B T/(6 pi eta r_s) (Stokes-Einstein).

Microneedle depot (:class:`MicroneedleDepot`): the needle matrix dissolves/swells (first order,
k_diss), exposing the depot, which then releases first order (k_rel): F = f_fast (1 - e^-k_diss t)
+ (1 - f_fast) [1 - (k_rel e^-k_diss t - k_diss e^-k_rel t)/(k_rel - k_diss)] (two sequential
first-order steps, Bateman solution).

Scaffold (:class:`scaffold_depot`): a porous scaffold whose pores are much larger than vesicles:
the gel depot with D_gel = D0 porosity / tortuosity (Siepmann & Siepmann 2012, porous devices)
and first-order scaffold degradation.

Storage (:func:`storage_loss_fraction`): first-order loss of intact vesicles,
k = -ln(1 - loss)/t fitted to Evtushenko 2020 (doi:10.1371/journal.pone.0243738): 51 % in 48 h at
+4 degC in ordinary polypropylene tubes, 18-21 % in LoBind/BSA-blocked tubes.

Every number carries a unit and a source or is an assumption with a plausible range; see
:data:`DEPOT_PARAMETERS` and docs/release.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import optimize

from exomir.core.errors import InputError
from exomir.core.params import Parameter, ParameterTable

K_B = 1.380649e-23  # J/K, exact (SI 2019)
SECONDS_PER_DAY = 86400.0
TAU_SWITCH = 0.02
N_SERIES = 6

_EVTUSHENKO = "Evtushenko 2020 PLoS One 15:e0243738 doi:10.1371/journal.pone.0243738"
_IJMS = "IJMS 2021 22:6203 Table 4 doi:10.3390/ijms22126203"
_MATHORIZ = "Mater Horiz 2024 11:2667 doi:10.1039/D3MH01910A"


def _k_from_loss(loss: float, days: float) -> float:
    return -math.log(1.0 - loss) / days


DEPOT_PARAMETERS = ParameterTable([
    Parameter(name="ev_diameter_nm", value=100.0, unit="nm",
              description="vesicle hydrodynamic diameter (small EV)", assumption=True,
              low=45.0, high=195.0,
              source="range: 86.5 % of particles 45-195 nm, Pharm Res 2021 "
                     "doi:10.1007/s11095-021-03102-z",
              note="100 nm is a typical sEV modal size; use the product's NTA value"),
    Parameter(name="water_viscosity_37C", value=0.6913, unit="mPa*s",
              description="viscosity of water at 37 degC (release medium / interstitial fluid)",
              source="Kestin J, Sokolov M, Wakeham WA 1978 J Phys Chem Ref Data 7:941 "
                     "doi:10.1063/1.555581"),
    Parameter(name="temperature", value=310.15, unit="K", description="37 degC",
              assumption=True, low=303.15, high=310.15,
              note="skin surface is cooler (about 30-35 degC)"),
    Parameter(name="mesh_size_nm", value=20.0, unit="nm",
              description="hydrogel mesh size xi (generic covalent gel)", assumption=True,
              low=5.0, high=200.0, note="measure by rheology/swelling for the actual gel"),
    Parameter(name="polymer_fraction", value=0.05, unit="dimensionless",
              description="polymer volume fraction of the swollen gel", assumption=True,
              low=0.01, high=0.3),
    Parameter(name="lustig_peppas_Y", value=1.0, unit="dimensionless",
              description="Lustig-Peppas free-volume ratio Y (about 1)", assumption=True,
              low=0.5, high=1.5, note="Lustig & Peppas 1988 J Appl Polym Sci 36:735 take Y ~ 1"),
    Parameter(name="gel_thickness_mm", value=1.0, unit="mm",
              description="slab thickness releasing from both faces", assumption=True,
              low=0.2, high=5.0),
    Parameter(name="burst_fraction", value=0.0, unit="dimensionless",
              description="burst fraction F0 (unentrapped vesicles)", assumption=True,
              low=0.0, high=0.2),
    Parameter(name="k_loss_depot", value=_k_from_loss(0.195, 2.0), unit="1/day",
              description="first-order loss of intact EVs inside a depot",
              assumption=True, low=_k_from_loss(0.18, 2.0), high=_k_from_loss(0.51, 2.0),
              source=_EVTUSHENKO,
              note="anchored to +4 degC LoBind-tube loss 18-21 % in 48 h (no wall adsorption); "
                   "upper end = ordinary-tube loss; 37 degC in a gel is not measured"),
    Parameter(name="storage_loss_ordinary_48h", value=0.51, unit="dimensionless",
              description="EV particle loss, PBS, +4 degC, 48 h, polypropylene tube",
              source=_EVTUSHENKO, low=0.48, high=0.54, note="51 +- 3 %"),
    Parameter(name="storage_loss_lobind_48h", value=0.195, unit="dimensionless",
              description="EV particle loss, PBS, +4 degC, 48 h, LoBind/BSA-blocked tube",
              source=_EVTUSHENKO, low=0.18, high=0.21, note="18-21 %"),
    Parameter(name="chitosan_thermo_retention_12h", value=0.98, unit="dimensionless",
              description="EV retention in thermosensitive chitosan hydrogel at 12 h",
              source=_IJMS + " (its refs 103,106)"),
    Parameter(name="chitosan_2pct_retention_2d", value=0.86, unit="dimensionless",
              description="EV retention in 2 % thermosensitive chitosan at 2 days",
              source=_IJMS + " (its ref 109)"),
    Parameter(name="ha_hydrogel_retention_14d", value=0.90, unit="dimensionless",
              description="EV retention in imine-cross-linked hyaluronic-acid hydrogel, 14 days",
              source=_IJMS + " (its ref 108)",
              note="table column 'Retention Rate (%)'; read as fraction still in the gel"),
    Parameter(name="microneedle_release_21d", value=0.30, unit="dimensionless",
              description="cumulative EV release from PGLADMA core of core-shell microneedle, "
                          "3 weeks", source=_MATHORIZ),
    Parameter(name="microneedle_k_diss", value=2.0, unit="1/day",
              description="needle matrix dissolution/swelling rate exposing the core",
              assumption=True, low=0.5, high=24.0,
              note="GelMA shell swells within hours; not measured for EVs"),
    Parameter(name="scaffold_porosity", value=0.9, unit="dimensionless",
              description="scaffold porosity", assumption=True, low=0.7, high=0.97),
    Parameter(name="scaffold_tortuosity", value=3.0, unit="dimensionless",
              description="pore tortuosity", assumption=True, low=1.5, high=10.0),
])


# ----------------------------------------------------------------------------- physics

def stokes_einstein_D0(diameter_nm: float, *, temperature_K: float = 310.15,
                       viscosity_mPa_s: float = 0.6913) -> float:
    """Free-solution diffusion coefficient of a sphere, mm^2/day: k_B T / (6 pi eta r)."""
    r = 0.5 * diameter_nm * 1e-9
    d_m2_s = K_B * temperature_K / (6.0 * math.pi * viscosity_mPa_s * 1e-3 * r)
    return d_m2_s * SECONDS_PER_DAY * 1e6


def lustig_peppas_ratio(diameter_nm: float, mesh_nm: float, polymer_fraction: float,
                        Y: float = 1.0) -> float:
    """D_gel/D0 = (1 - r_s/xi) exp(-Y phi/(1 - phi)); 0 if the vesicle is larger than the mesh."""
    if not 0 <= polymer_fraction < 1:
        raise InputError("polymer volume fraction must be in [0, 1)", field="polymer_fraction",
                         value=polymer_fraction, accepted="0 <= phi < 1")
    rs = 0.5 * diameter_nm
    if rs >= mesh_nm:
        return 0.0
    return (1.0 - rs / mesh_nm) * math.exp(-Y * polymer_fraction / (1.0 - polymer_fraction))


def slab_remaining(tau: npt.ArrayLike) -> np.ndarray:
    """Fraction remaining in a slab releasing by Fickian diffusion, tau = D t / L^2."""
    tt = np.maximum(np.asarray(tau, dtype=float), 0.0)
    short = 1.0 - 4.0 * np.sqrt(tt / np.pi)
    n = 2 * np.arange(N_SERIES) + 1
    series = (8.0 / np.pi**2) * np.sum(
        np.exp(-np.multiply.outer(tt, n**2 * np.pi**2)) / n**2, axis=-1)
    return np.where(tt < TAU_SWITCH, short, series)


def _slab_remaining_infix(tau: str) -> str:
    terms = " + ".join(f"exp(-{(2 * k + 1) ** 2} * pi^2 * {tau}) / {(2 * k + 1) ** 2}"
                       for k in range(N_SERIES))
    return (f"piecewise(1 - 4 * sqrt({tau} / pi), lt({tau}, {TAU_SWITCH}), "
            f"8 / pi^2 * ({terms}))")


# ----------------------------------------------------------------------------- depots

@dataclass
class GelDepot:
    """Hydrogel depot: burst + diffusion through the mesh + first-order gel degradation.

    Implements :class:`exomir.core.release.ReleaseProfile`.
    """

    name: str = "gel depot"
    burst_fraction: float = 0.0
    D_gel_mm2_per_day: float = 0.0
    thickness_mm: float = 1.0
    k_deg_per_day: float = 0.0
    stability_loss_per_day: float = DEPOT_PARAMETERS.value("k_loss_depot")
    provenance: ParameterTable = field(default_factory=ParameterTable)

    def __post_init__(self) -> None:
        checks = {"burst_fraction": (self.burst_fraction, 0.0, 1.0),
                  "D_gel_mm2_per_day": (self.D_gel_mm2_per_day, 0.0, math.inf),
                  "thickness_mm": (self.thickness_mm, 1e-12, math.inf),
                  "k_deg_per_day": (self.k_deg_per_day, 0.0, math.inf),
                  "stability_loss_per_day": (self.stability_loss_per_day, 0.0, math.inf)}
        for fld, (v, lo, hi) in checks.items():
            if not (lo <= v <= hi) or not math.isfinite(v):
                raise InputError("depot parameter out of range", field=fld, value=v,
                                 accepted=f"{lo:g} <= value <= {hi:g}")

    @classmethod
    def from_material(cls, *, name: str = "gel depot", ev_diameter_nm: float = 100.0,
                      mesh_nm: float = 20.0, polymer_fraction: float = 0.05, Y: float = 1.0,
                      thickness_mm: float = 1.0, k_deg_per_day: float = 0.0,
                      burst_fraction: float = 0.0, temperature_K: float = 310.15,
                      viscosity_mPa_s: float = 0.6913,
                      stability_loss_per_day: float | None = None) -> GelDepot:
        """Depot from material properties (Stokes-Einstein x Lustig-Peppas)."""
        d0 = stokes_einstein_D0(ev_diameter_nm, temperature_K=temperature_K,
                                viscosity_mPa_s=viscosity_mPa_s)
        dg = d0 * lustig_peppas_ratio(ev_diameter_nm, mesh_nm, polymer_fraction, Y)
        return cls(name=name, burst_fraction=burst_fraction, D_gel_mm2_per_day=dg,
                   thickness_mm=thickness_mm, k_deg_per_day=k_deg_per_day,
                   stability_loss_per_day=(DEPOT_PARAMETERS.value("k_loss_depot")
                                           if stability_loss_per_day is None
                                           else stability_loss_per_day),
                   provenance=DEPOT_PARAMETERS)

    def fraction_released(self, t_days: npt.ArrayLike) -> np.ndarray:
        t = np.maximum(np.asarray(t_days, dtype=float), 0.0)
        tau = self.D_gel_mm2_per_day * t / self.thickness_mm**2
        remaining = (1.0 - self.burst_fraction) * slab_remaining(tau) * np.exp(
            -self.k_deg_per_day * t)
        return np.asarray(np.clip(1.0 - remaining, 0.0, 1.0))

    def sbml_infix(self, t: str = "t") -> str:
        f0 = repr(float(self.burst_fraction))
        s = "1"
        if self.D_gel_mm2_per_day > 0:
            tau = f"({self.D_gel_mm2_per_day!r} * {t} / {self.thickness_mm**2!r})"
            s = _slab_remaining_infix(tau)
        return f"(1 - (1 - {f0}) * ({s}) * exp(-{float(self.k_deg_per_day)!r} * {t}))"


@dataclass
class MicroneedleDepot:
    """Microneedle: matrix dissolution (k_diss) then first-order depot release (k_rel).

    Implements :class:`exomir.core.release.ReleaseProfile`.
    """

    name: str = "microneedle depot"
    k_diss_per_day: float = 2.0
    k_rel_per_day: float = 0.1
    fast_fraction: float = 0.0
    stability_loss_per_day: float = DEPOT_PARAMETERS.value("k_loss_depot")

    def __post_init__(self) -> None:
        for fld in ("k_diss_per_day", "k_rel_per_day"):
            v = getattr(self, fld)
            if not (v > 0 and math.isfinite(v)):
                raise InputError("rate must be positive", field=fld, value=v, accepted="> 0")
        if not 0 <= self.fast_fraction <= 1:
            raise InputError("fraction out of range", field="fast_fraction",
                             value=self.fast_fraction, accepted="0..1")

    def _kr(self) -> float:
        # Equal rates make the Bateman form 0/0; nudge (relative 1e-9) to stay analytic.
        if abs(self.k_rel_per_day - self.k_diss_per_day) < 1e-9 * self.k_diss_per_day:
            return self.k_diss_per_day * (1 + 1e-6)
        return self.k_rel_per_day

    def fraction_released(self, t_days: npt.ArrayLike) -> np.ndarray:
        t = np.maximum(np.asarray(t_days, dtype=float), 0.0)
        kd, kr = self.k_diss_per_day, self._kr()
        seq = 1.0 - (kr * np.exp(-kd * t) - kd * np.exp(-kr * t)) / (kr - kd)
        fast = -np.expm1(-kd * t)
        return np.asarray(np.clip(self.fast_fraction * fast + (1 - self.fast_fraction) * seq,
                                  0.0, 1.0))

    def sbml_infix(self, t: str = "t") -> str:
        kd, kr, ff = repr(self.k_diss_per_day), repr(self._kr()), repr(self.fast_fraction)
        seq = f"(1 - ({kr} * exp(-{kd} * {t}) - {kd} * exp(-{kr} * {t})) / ({kr} - {kd}))"
        return f"({ff} * (1 - exp(-{kd} * {t})) + (1 - {ff}) * {seq})"


def scaffold_depot(*, name: str = "porous scaffold", ev_diameter_nm: float = 100.0,
                   porosity: float = 0.9, tortuosity: float = 3.0, thickness_mm: float = 1.0,
                   k_deg_per_day: float = 0.0, burst_fraction: float = 0.0,
                   stability_loss_per_day: float | None = None) -> GelDepot:
    """Porous scaffold: D = D0 porosity/tortuosity through pores much larger than vesicles."""
    if not (0 < porosity <= 1 and tortuosity >= 1):
        raise InputError("porosity in (0, 1] and tortuosity >= 1 required", field="porosity",
                         value=(porosity, tortuosity), accepted="0 < porosity <= 1, tau >= 1")
    d = stokes_einstein_D0(ev_diameter_nm) * porosity / tortuosity
    return GelDepot(name=name, burst_fraction=burst_fraction, D_gel_mm2_per_day=d,
                    thickness_mm=thickness_mm, k_deg_per_day=k_deg_per_day,
                    stability_loss_per_day=(DEPOT_PARAMETERS.value("k_loss_depot")
                                            if stability_loss_per_day is None
                                            else stability_loss_per_day),
                    provenance=DEPOT_PARAMETERS)


# ----------------------------------------------------------------------------- storage

STORAGE_K_PER_DAY = {
    "ordinary": _k_from_loss(DEPOT_PARAMETERS.value("storage_loss_ordinary_48h"), 2.0),
    "lobind": _k_from_loss(DEPOT_PARAMETERS.value("storage_loss_lobind_48h"), 2.0),
}


def storage_loss_fraction(hours: npt.ArrayLike, tube: str = "ordinary") -> np.ndarray:
    """Fraction of EV particles lost at +4 degC in PBS after ``hours`` (first-order fit)."""
    if tube not in STORAGE_K_PER_DAY:
        raise InputError("unknown tube type", field="tube", value=tube,
                         accepted=", ".join(STORAGE_K_PER_DAY))
    h = np.asarray(hours, dtype=float)
    return np.asarray(-np.expm1(-STORAGE_K_PER_DAY[tube] * h / 24.0))


# ----------------------------------------------------------------------------- presets

@dataclass(frozen=True)
class EndPoint:
    """A published release end-point a preset must reproduce."""

    t_days: float
    fraction_released: float
    source: str
    reading: str


def _gel_from_endpoint(name: str, ep: EndPoint) -> GelDepot:
    """Vesicles larger than the mesh (D = 0): release by degradation only, k from the end-point."""
    return GelDepot(name=name, burst_fraction=0.0, D_gel_mm2_per_day=0.0,
                    k_deg_per_day=_k_from_loss(ep.fraction_released, ep.t_days),
                    provenance=DEPOT_PARAMETERS)


def _mn_from_endpoint(name: str, ep: EndPoint) -> MicroneedleDepot:
    kd = DEPOT_PARAMETERS.value("microneedle_k_diss")

    def miss(log_kr: float) -> float:
        d = MicroneedleDepot(k_diss_per_day=kd, k_rel_per_day=math.exp(log_kr))
        return float(d.fraction_released(ep.t_days)) - ep.fraction_released

    kr = math.exp(optimize.brentq(miss, math.log(1e-6), math.log(1e3), xtol=1e-12))
    return MicroneedleDepot(name=name, k_diss_per_day=kd, k_rel_per_day=kr)


_READ_RET = "retention R at time T read as fraction still in the vehicle: F(T) = 1 - R"
ENDPOINTS: dict[str, EndPoint] = {
    "chitosan_thermo": EndPoint(0.5, 1 - DEPOT_PARAMETERS.value("chitosan_thermo_retention_12h"),
                                _IJMS + " (refs 103,106)", _READ_RET),
    "chitosan_2pct": EndPoint(2.0, 1 - DEPOT_PARAMETERS.value("chitosan_2pct_retention_2d"),
                              _IJMS + " (ref 109)", _READ_RET),
    "ha_hydrogel": EndPoint(14.0, 1 - DEPOT_PARAMETERS.value("ha_hydrogel_retention_14d"),
                            _IJMS + " (ref 108)", _READ_RET),
    "microneedle_core_shell": EndPoint(21.0, DEPOT_PARAMETERS.value("microneedle_release_21d"),
                                       _MATHORIZ, "cumulative release at 3 weeks"),
}


def preset(name: str) -> GelDepot | MicroneedleDepot:
    """A vehicle preset calibrated to its published end-point (see :data:`ENDPOINTS`)."""
    if name not in ENDPOINTS:
        raise InputError("unknown vehicle preset", field="preset", value=name,
                         accepted=", ".join(ENDPOINTS))
    ep = ENDPOINTS[name]
    if name.startswith("microneedle"):
        return _mn_from_endpoint(name, ep)
    return _gel_from_endpoint(name, ep)
