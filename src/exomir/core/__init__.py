"""Domain core: typed objects shared by every capability package.

Nothing in ``exomir.core`` imports a capability package (evidence, cargo, release, body,
quality, design, report). Capability packages import from here.
"""

from typing import TYPE_CHECKING

from exomir._lazy import attach
from exomir.core.errors import ExomirError, InputError

# The names below are imported on first use (PEP 562), so that ``from exomir.core import
# InputError`` (every CLI module) does not load pydantic, pint and numpy at start-up.
if TYPE_CHECKING:
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

_LAZY: dict[str, str] = {
    "CargoKind": "exomir.core.enums",
    "CargoMode": "exomir.core.enums",
    "Confidence": "exomir.core.enums",
    "EvidenceLevel": "exomir.core.enums",
    "EvidenceUse": "exomir.core.enums",
    "ExclusionReason": "exomir.core.enums",
    "Indication": "exomir.core.enums",
    "Route": "exomir.core.enums",
    "Species": "exomir.core.enums",
    "TherapeuticDirection": "exomir.core.enums",
    "MirnaName": "exomir.core.mirna",
    "mirna_matches": "exomir.core.mirna",
    "parse_mirna_name": "exomir.core.mirna",
    "Arm": "exomir.core.models",
    "ArmOutcome": "exomir.core.models",
    "Cargo": "exomir.core.models",
    "Characterization": "exomir.core.models",
    "ClinicalTrial": "exomir.core.models",
    "Delivery": "exomir.core.models",
    "Dose": "exomir.core.models",
    "Exclusion": "exomir.core.models",
    "ExosomeProduct": "exomir.core.models",
    "GeneSet": "exomir.core.models",
    "MatureMirna": "exomir.core.models",
    "MirnaTargetInteraction": "exomir.core.models",
    "PublishedSynthesis": "exomir.core.models",
    "Regimen": "exomir.core.models",
    "Study": "exomir.core.models",
    "Subject": "exomir.core.models",
    "TherapySpec": "exomir.core.models",
    "Parameter": "exomir.core.params",
    "ParameterTable": "exomir.core.params",
    "ReleaseProfile": "exomir.core.release",
    "Q_": "exomir.core.units",
    "parse_quantity": "exomir.core.units",
    "ureg": "exomir.core.units",
}

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

__getattr__, __dir__ = attach(globals(), _LAZY, __all__)
