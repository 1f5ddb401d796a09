"""Forecasting engines: plain Python (numpy, pandas, scipy, statsforecast), no Django.

Demand forecasting (``forecasting.engine.forecast`` is the entry point):

- ``forecast``: ``forecast_many`` / ``forecast_demand`` -> ``DemandForecast`` (P10/P50/P90, method, backtests),
  ``summarize_backtests``, ``what_if_price_change``;
- ``demand_classify``: ADI/CV² demand classes;
- ``demand_models``: batch statsforecast runs (backtests and forecasts of every candidate);
- ``demand_global``: the store's global model (gradient boosting over all its products; scikit-learn, imported when
  fitted), a candidate for weekly and daily products;
- ``demand_ensemble``: per series, the median of the candidates no worse than the seasonal naive in backtest (or an
  inverse-error combination);
- ``demand_guard``: reins in candidate paths that grow or shrink beyond anything the history shows;
- ``demand_quantiles``: calibrated quantiles from backtest errors, count quantiles for intermittent demand;
- ``demand_metrics``: MASE, WAPE, RMSE, pinball loss, coverage;
- ``demand_price``: price elasticity (shrunk toward the category) and price-change multipliers.

``customers`` holds the customer prediction models. Nothing is imported here, so that importing one engine does not
pay for the others (statsforecast takes about a second to import).
"""
