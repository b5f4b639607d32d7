"""What the pages show, computed in Python without templates or requests: the stage timeline,
the stage cards, the labels of stages and statuses, and the health report."""
