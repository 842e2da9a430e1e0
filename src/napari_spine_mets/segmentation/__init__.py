"""Vertebra segmentation: the project's own torch network, its weights, and inference.

Work in progress (issue 3): the network, sliding-window inference and the weights loader
are here and tested; training and level naming are not done yet, and no weights ship.
"""
