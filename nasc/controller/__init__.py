"""The controller: grammar-constrained sampling, the LSTM policy, REINFORCE.

    table = DecisionTable("cnn")                    # exact next-token automaton + budgets
    RandomSampler(table, Budget(max_layers=6)).sample(10)
    UniformSampler(table, Budget(6)).sample(10); count(table, Budget(6))
    ctl = Controller("cnn"); batch = ctl.sample(8); ctl.update(batch.samples, rewards)
    parse_sample(table, text, budget); mutate(table, sample, rng)
    check_space("my.lark")
"""

from nasc.controller.counting import UniformSampler, count
from nasc.controller.decisions import Budget, DecisionTable
from nasc.controller.lint import check_space
from nasc.controller.mutation import mutate, mutate_text, parse_sample
from nasc.controller.policy import Policy, PolicyConfig, SampleBatch
from nasc.controller.reinforce import Controller, Curriculum, TrainerConfig
from nasc.controller.samples import RandomSampler, Sample
from nasc.controller.vocab import load_grammar

__all__ = [
    "Budget", "Controller", "Curriculum", "DecisionTable", "Policy", "PolicyConfig",
    "RandomSampler", "Sample", "SampleBatch", "TrainerConfig", "UniformSampler",
    "check_space", "count", "load_grammar", "mutate", "mutate_text", "parse_sample",
]
