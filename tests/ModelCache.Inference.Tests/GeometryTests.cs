using System.Linq;
using ModelCache.Inference;
using static ModelCache.Inference.Tests.DetectorFixture;

namespace ModelCache.Inference.Tests;

/// <summary>Where the boxes and landmarks land: across families, inside boxes, and against a hand-checked face.</summary>
[Collection(DetectorCollection.Name)]
public class GeometryTests
{
    private static readonly string[] LandmarkModels = { RetinaFace, Scrfd25, Scrfd500, YoloV5, YoloV8, BlazeFront, BlazeBack };
    private readonly DetectorFixture _fixture;

    public GeometryTests(DetectorFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData("sample.jpg")]
    [InlineData("src_meeting.jpg")]
    [InlineData("linzaer_10.jpg")]
    [InlineData("portrait.jpg")]
    public void Every_family_boxes_the_same_faces_with_IoU_at_least_half(string image)
    {
        // SCRFD 2.5G is the reference; BlazeFace front is left out on group photos (short-range model).
        var reference = _fixture.Detect(Scrfd25, image);
        foreach (var model in AllModels.Where(m => m != Scrfd25 && (m != BlazeFront || image == "portrait.jpg")))
        {
            var other = _fixture.Detect(model, image);
            foreach (var face in reference.Faces)
            {
                var best = other.Faces.Select(f => f.BoundingBox.IoU(face.BoundingBox)).DefaultIfEmpty(0).Max();
                Assert.True(best >= 0.5f, $"{model} on {image}: best IoU with the SCRFD face at {face.BoundingBox} is {best:0.00}.");
            }
        }
    }

    [Theory]
    [InlineData("sample.jpg")]
    [InlineData("zidane.jpg")]
    [InlineData("linzaer_6.jpg")]
    [InlineData("keijiro_Test3.jpg")]
    public void Landmarks_lie_inside_their_boxes(string image)
    {
        foreach (var model in LandmarkModels)
        {
            foreach (var face in _fixture.Detect(model, image).Faces)
            {
                Assert.NotNull(face.Landmarks);
                var points = face.Landmarks!.ToArray();
                Assert.Equal(model is BlazeFront or BlazeBack ? 3 : 5, points.Length);
                Assert.All(points, p => Assert.True(face.BoundingBox.Contains(p), $"{model} on {image}: {p} is outside {face.BoundingBox}."));
                Assert.True(face.Landmarks.LeftEye!.X < face.Landmarks.RightEye!.X, $"{model}: left eye must be left of right eye in the image.");
            }
        }
    }

    [Theory]
    [InlineData(UltraRfb)]
    [InlineData(UltraSlim)]
    public void UltraFace_reports_no_landmarks(string model) =>
        Assert.All(_fixture.Detect(model, "sample.jpg").Faces, f => Assert.Null(f.Landmarks));

    /// <summary>
    /// portrait.jpg (1024×1024), measured by hand on the picture: eye centres at about (390, 481)
    /// and (638, 479), nose tip (499, 642), mouth corners (418, 749) and (602, 755); the face runs
    /// from x ≈ 280 to 785 and from the hairline y ≈ 205 to the chin y ≈ 905. A wrong stride, anchor,
    /// variance or letterbox offset moves these by tens to hundreds of pixels.
    /// </summary>
    [Theory]
    [InlineData(RetinaFace)]
    [InlineData(Scrfd25)]
    [InlineData(Scrfd500)]
    [InlineData(YoloV5)]
    [InlineData(YoloV8)]
    [InlineData(BlazeFront)]
    [InlineData(BlazeBack)]
    [InlineData(UltraRfb)]
    [InlineData(UltraSlim)]
    public void Decodes_the_hand_checked_portrait_face(string model)
    {
        var result = _fixture.Detect(model, "portrait.jpg");
        Assert.Equal(1024, result.Width);
        Assert.Equal(1024, result.Height);
        var face = Assert.Single(result.Faces);
        var box = face.BoundingBox;
        Assert.InRange(box.X + (box.Width / 2), 500, 560);
        Assert.InRange(box.Y + (box.Height / 2), 500, 620);
        Assert.InRange(box.Width, 480, 680);
        Assert.InRange(box.Height, 580, 900);
        if (face.Landmarks is { } lm)
        {
            AssertNear(lm.LeftEye!, 390, 481, 25);
            AssertNear(lm.RightEye!, 638, 479, 25);
            AssertNear(lm.Nose!, 499, 642, 30);
            if (lm.LeftMouth is not null)
            {
                AssertNear(lm.LeftMouth, 418, 749, 30);
                AssertNear(lm.RightMouth!, 602, 755, 30);
            }
        }
    }

    [Fact]
    public void Faces_are_sorted_by_confidence_and_inside_the_image()
    {
        var result = _fixture.Detect(Scrfd25, "linzaer_10.jpg");
        Assert.Equal(result.Faces.OrderByDescending(f => f.Confidence).ToList(), result.Faces);
        Assert.All(result.Faces, f =>
        {
            Assert.InRange(f.BoundingBox.X, 0, result.Width);
            Assert.InRange(f.BoundingBox.Right, 0, result.Width);
            Assert.InRange(f.BoundingBox.Bottom, 0, result.Height);
            Assert.Equal(result.Path, f.Path);
        });
    }

    [Fact]
    public void MaxFaces_keeps_the_largest_faces()
    {
        var all = _fixture.Detect(Scrfd25, "sample.jpg");
        var three = _fixture.Detector(Scrfd25).Detect(Image("sample.jpg"), new FaceDetectionOptions { MaxFaces = 3 });
        Assert.Equal(3, three.FaceCount);
        var largest = all.Faces.OrderByDescending(f => f.BoundingBox.Width * f.BoundingBox.Height).Take(3).Select(f => f.BoundingBox.ToString()).OrderBy(s => s);
        Assert.Equal(largest, three.Faces.Select(f => f.BoundingBox.ToString()).OrderBy(s => s));
    }

    [Fact]
    public void Thresholds_change_what_is_kept()
    {
        var detector = _fixture.Detector(Scrfd25);
        var strict = detector.Detect(Image("sample.jpg"), new FaceDetectionOptions { ConfidenceThreshold = 0.82f });
        var loose = detector.Detect(Image("sample.jpg"), new FaceDetectionOptions { ConfidenceThreshold = 0.3f });
        Assert.True(strict.FaceCount is > 0 and < 8 && loose.FaceCount >= 8, $"strict {strict.FaceCount}, loose {loose.FaceCount}");
        Assert.All(strict.Faces, f => Assert.True(f.Confidence >= 0.82f));
        Assert.Equal(0.5f, detector.DefaultConfidenceThreshold);
        Assert.Equal(0.4f, detector.DefaultNmsThreshold);
    }

    private static void AssertNear(FacePoint point, float x, float y, float tolerance)
    {
        Assert.True(System.Math.Abs(point.X - x) <= tolerance && System.Math.Abs(point.Y - y) <= tolerance, $"{point} is not within {tolerance}px of ({x}, {y}).");
    }
}
