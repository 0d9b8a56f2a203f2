public enum WorkbenchCore {}
