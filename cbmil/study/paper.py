"""The published numbers the kit compares against (quoted, never computed here).

Source: Park, Park & Hong (2022), "Analyzing the Importance of Balanced Action Classes in Weakly
Supervised Video Anomaly Detection", Tables 1 and 2 (I3D features, UCF-Crime, one run each), and
Sultani, Chen & Shah (CVPR 2018) for the C3D MIL baseline.
"""

#: The betas of the paper's sweep.
BETAS = (0.9, 0.99, 0.999, 0.9999)

#: Table 2: (Abnormal AUC %, Total AUC %) per method; keys: None = MIL, else beta.
TABLE2 = {
    None: (76.22, 84.95),
    0.9: (76.36, 85.06),
    0.99: (76.59, 85.25),
    0.999: (76.79, 85.40),
    0.9999: (76.80, 85.41),
}

#: Table 1: per-class AUC change against MIL, percentage points, at beta = 0.999 and 0.9999.
TABLE1 = {
    "Vandalism": (0.2, 0.3), "Stealing": (-1.2, -1.6), "Shoplifting": (0.0, 0.2), "Shooting": (-0.7, -0.5),
    "Robbery": (0.9, 0.6), "RoadAccidents": (0.3, 1.0), "Fighting": (0.3, 0.3), "Explosion": (2.6, 2.7),
    "Burglary": (-0.3, 0.6), "Assault": (1.3, -0.4), "Arson": (3.5, 3.0), "Arrest": (0.5, 1.4),
    "Abuse": (-0.9, -0.4),
}
TABLE1_BETAS = (0.999, 0.9999)
#: Table 1's reported averages of the per-class changes.
TABLE1_AVERAGE = (0.54, 0.57)

#: Sultani et al.'s C3D MIL, frame-level Total AUC % on UCF-Crime.
SULTANI_C3D_TOTAL_AUC = 75.41


def table1_change(cls: str, beta: float) -> float | None:
    """The paper's per-class change (pp) for ``cls`` at ``beta``, or None if not reported."""
    if beta not in TABLE1_BETAS:
        return None
    return TABLE1[cls][TABLE1_BETAS.index(beta)]
