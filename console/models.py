"""The console's models, imported here so Django finds them: the race demo's runs and the
CSV import's jobs."""

from console.inventory.models import StockImportJob
from console.race.models import RaceRun, RaceScratch

__all__ = ["RaceRun", "RaceScratch", "StockImportJob"]
