"""Parameter tables for purity, dose scaling and manufacturing, each with a source or marked an
assumption with a plausible range (``exomir.core.ParameterTable``).

Sources re-typed here (facts, not files):
- FDA 2005: U.S. FDA CDER, "Guidance for Industry: Estimating the Maximum Safe Starting Dose in
  Initial Clinical Trials for Therapeutics in Adult Healthy Volunteers", July 2005, Table 1
  (Km = body weight / body surface area; mouse 3, rat 6, human 37).
- Webber & Clayton 2013, J Extracell Vesicles 2:19861, doi:10.3402/jev.v2i0.19861 (PMID 24009896).
- Isolation recovery ranges: review table in Pharmaceuticals (Basel) 2023, PMC10058361, Table 1
  (ultracentrifugation 5-20 %, size-exclusion chromatography 40-80 %, polymer precipitation
  90+ %, ultrafiltration 30 %); MSC-sEV ultra-diafiltration vs ultracentrifugation recovery
  60.88 % vs 20.59 % (Oxford ORA uuid:bac87fde-6240-43ce-b932-73b1391b605a, "Purification of
  mesenchymal stromal cell-derived small extracellular vesicles using ultrafiltration").
  Busatto S 2018 Cells 7:273, doi:10.3390/cells7120273: TFF gives a higher yield than UC
  (qualitative).
Culture figures (secretion per cell, cell density, medium volume, timing) are assumptions with
ranges: they depend on the producer cell and process and must be measured by the user.
"""

from __future__ import annotations

from exomir.core.params import Parameter, ParameterTable

FDA_2005 = ("FDA CDER 2005 Guidance for Industry: Estimating the Maximum Safe Starting Dose in "
            "Initial Clinical Trials for Therapeutics in Adult Healthy Volunteers, Table 1")
WEBBER_2013 = "Webber & Clayton 2013 J Extracell Vesicles 2:19861, doi:10.3402/jev.v2i0.19861"
PHARMACEUTICALS_2023 = "Pharmaceuticals (Basel) 2023 review, Table 1, PMC10058361"
ORA_UF = ("MSC-sEV ultrafiltration vs ultracentrifugation, Oxford ORA "
          "uuid:bac87fde-6240-43ce-b932-73b1391b605a")

KM_FACTORS = ParameterTable([
    Parameter(name="km_mouse", value=3, unit="kg/m**2", source=FDA_2005,
              description="Km (body weight / body surface area), mouse 0.02 kg"),
    Parameter(name="km_rat", value=6, unit="kg/m**2", source=FDA_2005,
              description="Km, rat 0.15 kg"),
    Parameter(name="km_human", value=37, unit="kg/m**2", source=FDA_2005,
              description="Km, adult human 60 kg"),
])

PURITY_THRESHOLDS = ParameterTable([
    Parameter(name="high_purity_min", value=3e10, unit="particles/microgram", source=WEBBER_2013,
              description="ratio above which a preparation is 'high purity'"),
    Parameter(name="low_purity_min", value=2e9, unit="particles/microgram", source=WEBBER_2013,
              description="lower end of the 'low purity' band"),
    Parameter(name="low_purity_max", value=2e10, unit="particles/microgram", source=WEBBER_2013,
              description="upper end of the 'low purity' band",
              note="the exomir brief quoted 3e10; 2e10 is the value commonly quoted from the "
                   "paper; ratios between bands are reported as 'between classes'"),
    Parameter(name="unpure_max", value=1.5e9, unit="particles/microgram", source=WEBBER_2013,
              description="ratio below which a preparation is 'unpure'"),
])

ISOLATION_METHODS = ("ultracentrifugation", "sec", "tff", "precipitation")
METHOD_ALIASES = {
    "uc": "ultracentrifugation", "ultracentrifugation": "ultracentrifugation",
    "differential_ultracentrifugation": "ultracentrifugation",
    "sec": "sec", "size_exclusion": "sec", "size_exclusion_chromatography": "sec",
    "tff": "tff", "tangential_flow_filtration": "tff", "ultrafiltration": "tff",
    "precipitation": "precipitation", "peg": "precipitation", "exoquick": "precipitation",
    "polymer_precipitation": "precipitation",
}

MANUFACTURING = ParameterTable([
    Parameter(name="yield_ultracentrifugation", value=0.125, low=0.05, high=0.206,
              unit="dimensionless", source=f"{PHARMACEUTICALS_2023}; {ORA_UF}",
              description="fraction of secreted particles recovered by ultracentrifugation",
              note="range 5-20 % (review table); 20.59 % measured for MSC-sEV; central = midpoint"),
    Parameter(name="yield_sec", value=0.6, low=0.4, high=0.8, unit="dimensionless",
              source=PHARMACEUTICALS_2023,
              description="fraction recovered by size-exclusion chromatography",
              note="range 40-80 %; central = midpoint"),
    Parameter(name="yield_tff", value=0.61, low=0.30, high=0.61, unit="dimensionless",
              source=f"{ORA_UF}; {PHARMACEUTICALS_2023}",
              description="fraction recovered by tangential-flow / ultra-diafiltration",
              note="60.88 % for MSC-sEV fed-batch UF/DF; 30 % for ultrafiltration in the review "
                   "table; Busatto 2018 doi:10.3390/cells7120273: TFF yield > UC"),
    Parameter(name="yield_precipitation", value=0.9, low=0.9, high=1.0, unit="dimensionless",
              source=PHARMACEUTICALS_2023,
              description="fraction recovered by polymer precipitation",
              note="'90+ %' recovery but low purity: co-precipitated protein inflates counts"),
    Parameter(name="secretion_particles_per_cell_per_day", value=1e3, low=1e2, high=1e4,
              unit="particles/cell/day", assumption=True,
              description="EV particles secreted per producer cell per day into medium",
              note="cell-type and culture dependent; measure it (NTA of conditioned medium / "
                   "cell count / days) and pass --secretion"),
    Parameter(name="cells_per_cm2", value=2e4, low=1e4, high=4e4, unit="cells/cm**2",
              assumption=True, description="producer cells per cm^2 at harvest (2D culture)"),
    Parameter(name="cells_per_ml_bioreactor", value=1e6, low=3e5, high=3e6, unit="cells/mL",
              assumption=True,
              description="producer cells per mL in a microcarrier/stirred bioreactor"),
    Parameter(name="medium_ml_per_cm2", value=0.2, low=0.13, high=0.3, unit="mL/cm**2",
              assumption=True, description="conditioning medium volume per cm^2 per harvest"),
    Parameter(name="conditioning_days", value=2, low=1, high=3, unit="day", assumption=True,
              description="days of conditioning per harvest"),
    Parameter(name="harvests_per_culture", value=3, low=1, high=5, unit="dimensionless",
              assumption=True, description="repeated harvests from one seeded culture"),
    Parameter(name="expansion_days", value=7, low=5, high=14, unit="day", assumption=True,
              description="days to expand producer cells to harvest density per batch"),
    Parameter(name="isolation_days", value=1, low=1, high=2, unit="day", assumption=True,
              description="days to isolate and QC one batch"),
    Parameter(name="max_surface_per_batch_cm2", value=63600, low=25440, high=127200,
              unit="cm**2", assumption=True,
              description="culture surface one team handles per batch",
              note="central = 10 x 10-layer flasks of 6360 cm^2; user's facility sets this"),
    Parameter(name="overage_fraction", value=0.2, low=0.1, high=0.5, unit="dimensionless",
              assumption=True,
              description="extra product for QC/release testing, retains and losses"),
])

T175_CM2 = 175.0  # growth area of a T175 flask (by name)
