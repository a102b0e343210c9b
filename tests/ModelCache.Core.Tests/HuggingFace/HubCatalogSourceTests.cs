using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.HuggingFace;

/// <summary>Catalog entries whose bytes live on a hub: saved into the native layout through the normal engine.</summary>
public sealed class HubCatalogSourceTests : IAsyncLifetime
{
    private static readonly byte[] Weights = HubDownloaderTests.Weights;
    private readonly TempDirectory _temp = new("modelcache-hub");
    private HubServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await HubServer.StartAsync();
        _server.AddRepo("acme/detector", token: "hf_secret").Commit("main", HubTestFile.Lfs("onnx/model.onnx", Weights));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public void A_catalog_entry_may_name_a_hub_file_instead_of_a_url()
    {
        var model = ReadCatalog(null).Single();

        Assert.Equal("acme/detector", model.HuggingFace!.Repo.Id);
        Assert.Equal("onnx/model.onnx", model.HuggingFace.File);
        Assert.Equal("main", model.HuggingFace.Revision);
        Assert.Equal("https://huggingface.co/acme/detector/resolve/main/onnx/model.onnx", model.Url!.ToString());
        Assert.Equal("acme/detector@main:onnx/model.onnx", new ModelCatalogEntry(model, false).HuggingFace);
    }

    [Theory]
    [InlineData("\"repo\": \"../x\", \"file\": \"m.onnx\"", "huggingFace.repo")]
    [InlineData("\"repo\": \"acme/x\", \"file\": \"../../m.onnx\"", "huggingFace.file")]
    [InlineData("\"repo\": \"acme/x\", \"file\": \"m.onnx\", \"revision\": \"..\"", "huggingFace.revision")]
    [InlineData("\"file\": \"m.onnx\"", "\"repo\"")]
    public void A_bad_hub_source_is_a_catalog_error_with_its_line(string body, string named)
    {
        var json = $"{{\"models\": [{{\"family\": \"Hub\", \"member\": \"M\", \"fileName\": \"m.onnx\", \"sha256\": \"{new string('a', 64)}\",\n \"huggingFace\": {{{body}}}}}]}}";

        var error = Assert.Throws<CatalogFormatException>(() => CatalogReader.Read(json, "user.json", "user.json"));

        Assert.Contains(named, error.Message);
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public async Task Save_model_downloads_through_the_hub_into_the_native_layout_keeping_the_token_on_the_hub_host()
    {
        var model = ReadCatalog(TestModels.Sha256Of(Weights)).Single();

        var entry = await Save(model, new FakeEnvironment(_temp.Path).With("HF_ENDPOINT", _server.Endpoint.ToString()).With("HF_TOKEN", "hf_secret"));

        Assert.Equal(Weights, File.ReadAllBytes(entry.Path));
        Assert.Equal(TransferSource.Upstream, entry.Transfer!.Source);
        Assert.Equal(new Uri(_server.Endpoint, "acme/detector/resolve/main/onnx/model.onnx").ToString(), entry.Transfer.SourceUrl);
        Assert.NotEmpty(_server.StorageRequests);
        Assert.All(_server.StorageRequests, r => Assert.Equal(string.Empty, r.Authorization));
        Assert.All(_server.HubRequests, r => Assert.Equal("Bearer hf_secret", r.Authorization));
    }

    [Fact]
    public async Task A_hub_whose_etag_disagrees_with_the_catalog_is_HubHashDisagrees_and_nothing_is_read_or_saved()
    {
        var model = ReadCatalog(new string('b', 64)).Single();
        var store = new CacheStore(_temp.Combine("cache"));

        var error = await Assert.ThrowsAsync<TransferException>(() => Save(model, new FakeEnvironment(_temp.Path).With("HF_ENDPOINT", _server.Endpoint.ToString()).With("HF_TOKEN", "hf_secret"), store));

        Assert.Equal("HubHashDisagrees", error.ErrorId);
        Assert.Empty(_server.StorageRequests);
        Assert.False(File.Exists(store.GetModelPath(model)));
    }

    [Fact]
    public async Task With_HF_HUB_OFFLINE_the_hub_is_not_contacted()
    {
        var model = ReadCatalog(TestModels.Sha256Of(Weights)).Single();

        var error = await Assert.ThrowsAsync<TransferException>(() => Save(model, new FakeEnvironment(_temp.Path).With("HF_ENDPOINT", _server.Endpoint.ToString()).With("HF_HUB_OFFLINE", "1")));

        Assert.Equal("ModelNotAvailableOffline", error.ErrorId);
        Assert.Contains("HF_HUB_OFFLINE", error.Message);
        Assert.Empty(_server.Requests);
    }

    private static System.Collections.Generic.IReadOnlyList<ModelDefinition> ReadCatalog(string? sha256) => CatalogReader.Read(
        $"{{\"models\": [{{\"family\": \"Hub\", \"member\": \"DET\", \"task\": \"face_detection\", \"fileName\": \"det.onnx\", \"sha256\": \"{sha256 ?? new string('a', 64)}\", \"size\": {Weights.Length}," +
        " \"huggingFace\": {\"repo\": \"acme/detector\", \"file\": \"onnx/model.onnx\"}}]}", "user.json", "user.json");

    private async Task<ModelCacheEntry> Save(ModelDefinition model, FakeEnvironment environment, CacheStore? store = null)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), false, false, HubDownloaderTests.FastRetries, environment, HubSource.Factory(environment));
        return await new ModelSaver(store ?? new CacheStore(_temp.Combine("cache")), planner).SaveAsync(model, false, null, null, default);
    }
}
