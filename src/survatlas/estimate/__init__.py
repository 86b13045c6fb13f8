"""Estimation: how many devices really exist, with honest intervals.

Every camera map is incomplete; every published total is an estimate. This package holds the
standard answers of human-rights statistics:

- two lists: :func:`lincoln_petersen`, :func:`chapman` (capture–recapture);
- three or more lists: :func:`mse`, Poisson log-linear multiple systems estimation with
  stepwise AIC/BIC model selection and profile-likelihood intervals;
- capture histories from data: :func:`match_lists`, :func:`capture_histories`,
  :func:`estimate_total`;
- sample surveys: :func:`stratified_total`, :func:`audit_correct`;
- composed claims: :func:`compose` over :class:`Quantity` ranges.

Every function returns an :class:`Estimate` that states its method, assumptions, interval and
warnings.
"""

from survatlas.estimate.compose import Quantity, compose
from survatlas.estimate.histories import CaptureTable, published_table
from survatlas.estimate.matching import (
    DeviceList,
    Matching,
    capture_histories,
    device_lists_from_records,
    match_lists,
    types_compatible,
)
from survatlas.estimate.mse import ModelFit, fit_model, mse, profile_interval, stepwise
from survatlas.estimate.result import Estimate
from survatlas.estimate.sampling import audit_correct, stratified_total
from survatlas.estimate.total import estimate_total, load_device_lists
from survatlas.estimate.twolist import chapman, lincoln_petersen

__all__ = [
    "CaptureTable",
    "DeviceList",
    "Estimate",
    "Matching",
    "ModelFit",
    "Quantity",
    "audit_correct",
    "capture_histories",
    "chapman",
    "compose",
    "device_lists_from_records",
    "estimate_total",
    "fit_model",
    "lincoln_petersen",
    "load_device_lists",
    "match_lists",
    "mse",
    "profile_interval",
    "published_table",
    "stepwise",
    "stratified_total",
    "types_compatible",
]
