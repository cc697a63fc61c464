"""When the mining models are fitted again: at the first run of each as-of month (and by `full_rebuild`).
Later runs of the month score with what that run fitted, as the matching model is kept between runs: a day's
events barely move the models, and fitting is most of the mining steps' time."""

from datetime import date

import pandas as pd


def fitted_this_month(fitted_as_of: date, as_of: date) -> bool:
    """Whether a model fitted as of `fitted_as_of` still serves a run as of `as_of`: same month, not later."""
    return (fitted_as_of.year, fitted_as_of.month) == (as_of.year, as_of.month) and fitted_as_of <= as_of


def fit_date_this_month(fitted_as_of: pd.Series, as_of: date) -> date | None:
    """The one as-of date of a stored fit (a column of its rows), if that fit still serves `as_of`."""
    dates = {pd.Timestamp(value).date() for value in fitted_as_of}
    if len(dates) != 1:
        return None
    (fitted,) = dates
    return fitted if fitted_this_month(fitted, as_of) else None
