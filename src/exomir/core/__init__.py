"""Domain core: typed objects shared by every capability package.

Nothing in ``exomir.core`` imports a capability package (evidence, cargo, release, body,
quality, design, report). Capability packages import from here.
"""

from exomir.core.enums import (
    CargoKind,
    CargoMode,
    Confidence,
    EvidenceLevel,
    EvidenceUse,
    ExclusionReason,
    Indication,
    Route,
    Species,
    TherapeuticDirection,
)
from exomir.core.errors import ExomirError, InputError
from exomir.core.mirna import MirnaName, mirna_matches, parse_mirna_name
from exomir.core.models import (
    Arm,
    ArmOutcome,
    Cargo,
    Characterization,
    ClinicalTrial,
    Delivery,
    Dose,
    Exclusion,
    ExosomeProduct,
    GeneSet,
    MatureMirna,
    MirnaTargetInteraction,
    PublishedSynthesis,
    Regimen,
    Study,
    Subject,
    TherapySpec,
)
from exomir.core.params import Parameter, ParameterTable
from exomir.core.release import ReleaseProfile
from exomir.core.units import Q_, parse_quantity, ureg

__all__ = [
    "Q_",
    "Arm",
    "ArmOutcome",
    "Cargo",
    "CargoKind",
    "CargoMode",
    "Characterization",
    "ClinicalTrial",
    "Confidence",
    "Delivery",
    "Dose",
    "EvidenceLevel",
    "EvidenceUse",
    "Exclusion",
    "ExclusionReason",
    "ExomirError",
    "ExosomeProduct",
    "GeneSet",
    "Indication",
    "InputError",
    "MatureMirna",
    "MirnaName",
    "MirnaTargetInteraction",
    "Parameter",
    "ParameterTable",
    "PublishedSynthesis",
    "Regimen",
    "ReleaseProfile",
    "Route",
    "Species",
    "Study",
    "Subject",
    "TherapeuticDirection",
    "TherapySpec",
    "mirna_matches",
    "parse_mirna_name",
    "parse_quantity",
    "ureg",
]
