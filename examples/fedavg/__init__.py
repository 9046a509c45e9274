"""Federated averaging of a logistic regression on the breast-cancer data set, as a Substra user
writes it: an opener, three substratools functions in `fedavg.py` (train, aggregate, evaluate),
and in `workflow` the helpers that prepare the files, register the assets and run the plan with
any substra Client."""
