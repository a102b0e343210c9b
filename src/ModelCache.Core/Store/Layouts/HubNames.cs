namespace ModelCache.Store.Layouts;

/// <summary>Names that mark a Hugging Face hub cache, so other layouts recognise one and do not write into it.</summary>
internal static class HubNames
{
    public const string RepoFolderPrefix = "models--";
    public const string LocksFolder = ".locks";
}
