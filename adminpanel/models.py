"""The console's models, imported here so Django finds them: the race demo's runs."""

from adminpanel.race.models import RaceRun, RaceScratch

__all__ = ["RaceRun", "RaceScratch"]
