namespace ModelCache.Layouts;

/// <summary>How files are arranged under a cache root.</summary>
public enum CacheLayoutKind
{
    /// <summary>ModelCache's own: <c>models/&lt;Family&gt;/&lt;Member&gt;/&lt;FileName&gt;</c> with <c>entry.json</c> beside each file.</summary>
    Native,

    /// <summary>uniface's cache: a flat folder of files under uniface's own cache file names.</summary>
    Uniface,

    /// <summary>The Hugging Face hub cache: <c>models--org--name/blobs|refs|snapshots</c>.</summary>
    HuggingFace,

    /// <summary>A mirror directory, read as a source: files side by side under their catalog file names.</summary>
    Mirror,
}
