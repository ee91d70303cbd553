"""dse: design-space exploration of neural-dynamics models on FPGAs."""

__version__ = "0.1.0"
