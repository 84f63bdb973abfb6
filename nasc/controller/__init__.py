"""The controller: grammar-constrained sampling, the LSTM policy, REINFORCE."""
