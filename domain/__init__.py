"""Terms of the retail domain shared by the engines and the Django apps: plain Python and numpy, no Django.

The engines (recommendations/engine, forecasting/engine, inventory/engine) may import only this package
from the project, so a term defined here means the same in every app (age bands, event types).
"""
