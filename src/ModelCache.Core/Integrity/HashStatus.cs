namespace ModelCache.Integrity;

public enum HashStatus
{
    /// <summary>The file hashes to the expected value.</summary>
    Valid,

    /// <summary>The file exists but hashes to something else.</summary>
    Mismatch,

    /// <summary>The file does not exist.</summary>
    Missing,

    /// <summary>The file was hashed but no expected value is known.</summary>
    Unknown,
}
