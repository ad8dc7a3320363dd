export const VERSION = "domeize 0.1.0 (domeos-hostnet)";
