"""The search runtime: child training, strategies, the store, executors.

    data        load_data("digits" | "cifar10:DIR" | "mnist:DIR" | "folder:DIR" | "ptb:DIR")
    child       TrainConfig, TrialSpec, run_trial(spec) -> result dict (never raises)
    store       Store.create / Store.open: the SQLite record of a search
    canonical   Canonicalizer: equal compiled graphs get one key (trained once)
    strategies  StrategyConfig, make_strategy: reinforce, random, evolution
    executors   make_executor: inline, local (process pool), ray
    search      SearchConfig, run_search(config, resume=False) -> SearchSummary
    report      leaderboard, report_json, plot, export_arch
"""
