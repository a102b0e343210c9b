using System.Collections.Generic;
using System.Linq;
using static ModelCache.Inference.Tests.DetectorFixture;

namespace ModelCache.Inference.Tests;

/// <summary>
/// Face counts against ../shared/fixtures/README.md: exact where its four independent counts
/// agree, "at least the lowest" on crowds. Models outside that independent run (SCRFD 500M,
/// YOLOv5n, UltraFace slim, both BlazeFace models) are held to the same counts; where they differ,
/// the observed count is recorded below as the model's known behaviour instead of being hidden.
/// </summary>
[Collection(DetectorCollection.Name)]
public class FaceCountTests
{
    /// <summary>Images on which the README's four counts agree.</summary>
    public static readonly (string Image, int Faces)[] Agreed =
    {
        ("portrait.jpg", 1), ("zidane.jpg", 2), ("sample.jpg", 8), ("src_meeting.jpg", 5),
        ("keijiro_Test1.jpg", 1), ("keijiro_Test3.jpg", 3),
        ("linzaer_2.jpg", 4), ("linzaer_3.jpg", 5), ("linzaer_5.jpg", 1), ("linzaer_6.jpg", 14),
        ("linzaer_10.jpg", 19), ("linzaer_12.jpg", 5), ("linzaer_13.jpg", 2), ("linzaer_15.jpg", 16), ("linzaer_16.jpg", 9),
        ("linzaer_18.jpg", 6), ("linzaer_19.jpg", 5), ("linzaer_20.jpg", 10), ("linzaer_22.jpg", 2), ("linzaer_23.jpg", 3),
    };

    /// <summary>Crowds: the lowest of the README's four counts.</summary>
    public static readonly (string Image, int AtLeast)[] Crowds =
    {
        ("keijiro_Test7.jpg", 7), ("src_friends.jpg", 2),
        ("linzaer_1.jpg", 46), ("linzaer_8.jpg", 52), ("linzaer_11.jpg", 25), ("linzaer_24.jpg", 8),
        ("linzaer_26.jpg", 58), ("linzaer_27.jpg", 70), ("linzaer_17.jpg", 75), ("linzaer_25.jpg", 89),
    };

    /// <summary>
    /// Recorded deviations from <see cref="Agreed"/> (observed with this code; see the README's
    /// detector notes). BlazeFace front is MediaPipe's short-range selfie model: it misses the
    /// small faces of group photos by design, so it is held only to close-up images.
    /// </summary>
    private static readonly Dictionary<(string Model, string Image), int> KnownCounts = new()
    {
        [(UltraSlim, "zidane.jpg")] = 3,
        [(BlazeBack, "linzaer_6.jpg")] = 15,
        [(BlazeBack, "linzaer_20.jpg")] = 11,
        [(BlazeBack, "linzaer_15.jpg")] = 17,
        [(BlazeFront, "zidane.jpg")] = 1,
        [(BlazeFront, "sample.jpg")] = 7,
        [(BlazeFront, "src_meeting.jpg")] = 4,
    };

    /// <summary>Models held to "at least the lowest" on crowds: the four of the README's run, and the two other full-range families.</summary>
    private static readonly string[] CrowdModels = { Scrfd25, RetinaFace, YoloV8, UltraRfb, Scrfd500, YoloV5 };

    private static readonly HashSet<string> CloseUps = new() { "portrait.jpg", "keijiro_Test1.jpg", "keijiro_Test3.jpg", "linzaer_2.jpg", "linzaer_5.jpg", "linzaer_13.jpg", "linzaer_22.jpg", "linzaer_23.jpg", "zidane.jpg", "sample.jpg", "src_meeting.jpg" };

    private readonly DetectorFixture _fixture;

    public FaceCountTests(DetectorFixture fixture) => _fixture = fixture;

    public static IEnumerable<object[]> AgreedCases() =>
        from model in AllModels
        from image in Agreed
        where model != BlazeFront || CloseUps.Contains(image.Image)
        select new object[] { model, image.Image, KnownCounts.TryGetValue((model, image.Image), out var known) ? known : image.Faces };

    public static IEnumerable<object[]> CrowdCases() =>
        from model in CrowdModels
        from image in Crowds
        select new object[] { model, image.Image, image.AtLeast };

    [Theory]
    [MemberData(nameof(AgreedCases))]
    public void Finds_exactly_the_agreed_number_of_faces(string model, string image, int expected)
    {
        Assert.Equal(expected, _fixture.Detect(model, image).FaceCount);
    }

    [Theory]
    [MemberData(nameof(CrowdCases))]
    public void Finds_at_least_the_lowest_independent_count_in_crowds(string model, string image, int atLeast)
    {
        var count = _fixture.Detect(model, image).FaceCount;
        Assert.True(count >= atLeast, $"{model} found {count} faces in {image}; the lowest independent count is {atLeast}.");
    }

    [Fact]
    public void Known_deviations_are_still_what_the_table_records()
    {
        // Keeps KnownCounts honest: if a model improves, this fails and the table (and README) get updated.
        foreach (var ((model, image), expected) in KnownCounts)
        {
            Assert.Equal(expected, _fixture.Detect(model, image).FaceCount);
        }
    }

    [Theory]
    [InlineData(RetinaFace, 0)]
    [InlineData(Scrfd25, 1)]
    [InlineData(Scrfd500, 1)]
    [InlineData(YoloV5, 1)]
    [InlineData(YoloV8, 1)]
    [InlineData(UltraRfb, 1)]
    [InlineData(UltraSlim, 1)]
    [InlineData(BlazeFront, 0)]
    [InlineData(BlazeBack, 1)]
    public void Gorilla_is_a_hard_negative_only_RetinaFace_and_BlazeFace_front_stay_silent(string model, int recorded)
    {
        // RetinaFace must stay silent at its default threshold (README: max 0.28). The others fire on
        // the gorilla's face at their defaults (SCRFD 0.72, YOLOv8 0.71, UltraFace 0.99): recorded, not tuned away.
        var result = _fixture.Detect(model, "gorilla.png");
        Assert.Equal(recorded, result.FaceCount);
        if (recorded == 1)
        {
            // It is the gorilla's face they find (around x 210–265, y 50–125 of 527×350), not noise elsewhere.
            var box = result.Faces[0].BoundingBox;
            Assert.InRange(box.X + (box.Width / 2), 215, 265);
            Assert.InRange(box.Y + (box.Height / 2), 70, 110);
        }
    }

    [Fact]
    public void RetinaFace_gorilla_scores_stay_below_the_default_threshold_even_when_lowered_a_little()
    {
        var result = _fixture.Detector(RetinaFace).Detect(Image("gorilla.png"), new ModelCache.Inference.FaceDetectionOptions { ConfidenceThreshold = 0.3f });
        Assert.Equal(0, result.FaceCount);
    }
}
