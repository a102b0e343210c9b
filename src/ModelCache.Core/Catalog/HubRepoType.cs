namespace ModelCache.Catalog;

/// <summary>The kinds of hub repository; each has its own folder prefix and URL prefix.</summary>
public enum HubRepoType
{
    Model,
    Dataset,
    Space,
}
