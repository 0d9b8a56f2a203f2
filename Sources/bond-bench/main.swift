print("bond-bench: not yet")
