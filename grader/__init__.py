"""grader: a teaching autograder for PyTorch exercises with a real trust boundary."""

__version__ = "0.1.0"
