"""When the mining models are fitted again: at the first run of each as-of month (and by `full_rebuild`).
Later runs of the month score with what that run fitted, as the matching model is kept between runs: a day's
events barely move the models, and fitting is most of the mining steps' time."""

from datetime import date


def fitted_this_month(fitted_as_of: date, as_of: date) -> bool:
    """Whether a model fitted as of `fitted_as_of` still serves a run as of `as_of`: same month, not later."""
    return (fitted_as_of.year, fitted_as_of.month) == (as_of.year, as_of.month) and fitted_as_of <= as_of
