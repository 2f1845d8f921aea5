"""The weekly digest (周报), the monthly review (月报) and its conclusions (复盘)."""
