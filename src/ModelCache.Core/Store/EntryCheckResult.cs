namespace ModelCache.Store;

/// <summary>
/// What the last recorded hash check of a cached file found. A listing reports this, not "valid": a bit
/// flip that keeps size and write time shows only when the file is hashed again (Test-ModelHash).
/// </summary>
public enum EntryCheckResult
{
    /// <summary>No hash check is recorded (or the record could not be trusted).</summary>
    NotChecked,

    /// <summary>The last hash check matched the catalog.</summary>
    Passed,

    /// <summary>The last hash check did not match the catalog, or there was no catalog hash to match.</summary>
    Failed,
}
