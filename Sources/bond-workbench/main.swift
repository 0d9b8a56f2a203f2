print("bond-workbench: not yet")
