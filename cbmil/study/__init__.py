"""Studies: the paper's main job with seeds (:func:`reproduce`, :func:`rebuild_tables`; on
XD-Violence with ``dataset="xd"``, its tables in :mod:`cbmil.study.xd`), the
imbalance dial (:func:`imbalance_dial`), the generator examined (:func:`strength_study`) and
seed planning (:func:`plan_table`). Each is a plain function with keyword arguments that
returns its results; ``cbmil.cli`` only parses the command line and calls them."""

from cbmil.study.imbalance import DialResult, imbalance_dial
from cbmil.study.planning import plan_from_runs, plan_table
from cbmil.study.reproduction import Study, load_study, rebuild_tables, reproduce, run_study
from cbmil.study.strength import StrengthResult, strength_study

__all__ = ["reproduce", "rebuild_tables", "load_study", "run_study", "Study", "imbalance_dial", "DialResult", "strength_study",
           "StrengthResult", "plan_table", "plan_from_runs"]
