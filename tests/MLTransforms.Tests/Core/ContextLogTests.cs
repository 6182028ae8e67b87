using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Core.Numerics;
using MLTransforms.Tests.Conformance;
using MLTransforms.Tests.TimeSeries;
using MLTransforms.TimeSeries;
using MLTransforms.TimeSeries.OLinear;
using static MLTransforms.Tests.Rotations.RotationTestData;

namespace MLTransforms.Tests.Core;

/// <summary>Fits log through their host's channels to <c>MLContext.Log</c>, warn once when the managed GEMM kernel
/// runs a heavy fit, and stop when the context is cancelled.</summary>
public class ContextLogTests
{
    private static readonly Lazy<ForecastSplit> Split = new(() => ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly));

    private static OLinearOptions Tiny(int epochs = 2) => new()
    {
        Embedding = 2, ModelWidth = 8, FeedForwardWidth = 8, Blocks = 1, MaxEpochs = epochs, MaxTrainingWindows = 256, Seed = 1,
    };

    /// <summary>Every message the context logs, kept in order.</summary>
    private static ConcurrentQueue<LoggingEventArgs> Capture(MLContext ml)
    {
        var log = new ConcurrentQueue<LoggingEventArgs>();
        ml.Log += (_, e) => log.Enqueue(e);
        return log;
    }

    private static string[] Lines(IEnumerable<LoggingEventArgs> log, string source, ChannelMessageKind kind = ChannelMessageKind.Info)
        => log.Where(e => e.Kind == kind && e.Source.StartsWith(source, StringComparison.Ordinal)).Select(e => e.Message).ToArray();

    /// <summary>ML.NET 6 keeps <c>MLContext.CancelExecution</c> internal (AutoML calls it when a trial runs out of time).</summary>
    private static void CancelExecution(MLContext ml)
        => typeof(MLContext).GetMethod("CancelExecution", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!.Invoke(ml, null);

    private sealed class OnEpoch(Action<OLinearEpoch> action) : IProgress<OLinearEpoch>
    {
        public void Report(OLinearEpoch value) => action(value);
    }

    [Fact]
    public void SrhtLogsTheOutputSizeItChoseInAutoMode()
    {
        var ml = new MLContext(1);
        var log = Capture(ml);
        var model = ml.Transforms.StructuredRandomProjection("Out", "Features", eps: 0.5).Fit(Load(ml, Gaussian(1000, 400, 1)));
        Assert.Equal(331, model.OutputSize);
        var line = Assert.Single(Lines(log, "StructuredRandomProjectionEstimator"));
        Assert.Contains("Output dimension 331 ('auto', Johnson-Lindenstrauss for n_samples=1000, eps=0.5)", line);
        Assert.Contains("zero-padded to 512", line);
    }

    [Fact]
    public void SorfLogsTheMedianDistanceAndThePaddedSize()
    {
        var ml = new MLContext(1);
        var log = Capture(ml);
        var model = ml.Transforms.OrthogonalRandomFeatures("Out", "Features", rank: 100).Fit(Load(ml, Gaussian(30, 45, 2)));
        var lines = Lines(log, "OrthogonalRandomFeaturesEstimator");
        Assert.Contains(lines, l => l.Contains($"Median squared distance {model.DistanceScale.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)} over 435 pairs of 30 sampled rows"));
        Assert.Contains(lines, l => l.Contains("Rank 100 from 45 values zero-padded to 64: 2 stacked rotations"));
    }

    [Fact]
    public void OLinearLogsEveryEpochTheKeptEpochAndTheGemmBackend()
    {
        var ml = new MLContext(1);
        var log = Capture(ml);
        var model = ml.Forecasting.OLinear(options: Tiny(epochs: 3)).Fit(Split.Value);
        var lines = Lines(log, "OLinearForecastEstimator");
        Assert.Equal(3, model.FitInfo.Epochs.Count);
        foreach (var e in model.FitInfo.Epochs)
        {
            string expected = FormattableString.Invariant($"Network 0 epoch {e.Epoch}: train loss {e.TrainLoss:G5}, validation loss {e.ValidationLoss:G5}, learning rate {e.LearningRate:G3}");
            Assert.Single(lines, l => l.Contains(expected));
        }
        Assert.Single(lines, l => l.Contains($"Network 0: kept epoch {model.FitInfo.BestEpoch} of 3"));
        Assert.Single(lines, l => l.Contains("Matrix products: " + Gemm.BackendDescription));
        // Without a native BLAS the fit warns, once; with one it does not.
        Assert.Equal(Gemm.NativeAvailable ? 0 : 1, Lines(log, "OLinearForecastEstimator", ChannelMessageKind.Warning).Length);
    }

    [Fact]
    public void TheManagedKernelGetsOneWarningPerFitNamingWhatToInstall()
    {
        var ml = new MLContext(1);
        var log = Capture(ml);
        bool saved = Gemm.ForceManaged;
        Gemm.ForceManaged = true;
        try
        {
            ml.Forecasting.OLinear(options: Tiny(epochs: 2)).Fit(Split.Value);
        }
        finally
        {
            Gemm.ForceManaged = saved;
        }
        var warning = Assert.Single(Lines(log, "OLinearForecastEstimator", ChannelMessageKind.Warning));
        Assert.Contains("libopenblas0-pthread", warning);
        Assert.Contains("openblas-threads", warning);
        Assert.Contains("libopenblas.dll", warning);
        Assert.Contains("Accelerate", warning);
        Assert.Contains(NativeBlas.ManagedSlowdown, warning);
        Assert.Contains("libblas.so.3", warning);
    }

    [Fact]
    public void FitStatisticsOfTheClosedFormComponentsReachTheLog()
    {
        var ml = new MLContext(1);
        var log = Capture(ml);
        var split = Split.Value;
        var orthoTrans = ml.Transforms.OrthoTrans("C", "Input", new OrthoTransOptions { RetainedEnergy = 0.9 }).Fit(split.Train.ToDataView(ml));
        Assert.Single(Lines(log, "OrthoTransEstimator"), l => l.Contains($"keeping {orthoTrans.Components} components") && l.Contains("condition number"));
        var ridge = ml.Forecasting.OrthoRidge().Fit(split);
        var line = Assert.Single(Lines(log, "OrthoRidgeForecastEstimator"));
        Assert.Contains(FormattableString.Invariant($"{ridge.FitInfo.OutputComponents} of 12 output coefficients kept"), line);
        Assert.Contains(FormattableString.Invariant($"validation MSE {ridge.FitInfo.ValidationMse:G5}"), line);
    }

    [Fact]
    public void EveryPublicEstimatorLogsItsFitUnderItsOwnName()
    {
        foreach (var c in EstimatorConformanceTests.Cases)
        {
            var ml = new MLContext(1);
            var log = Capture(ml);
            c.Make(ml).Fit(ml.Data.LoadFromEnumerable(EstimatorConformanceTests.Rows(240)));
            Assert.True(Lines(log, c.Estimator.Name).Length > 0, $"{c.Name} logged nothing under {c.Estimator.Name}");
        }
    }

    [Fact]
    public void OLinearStopsWhenTheContextIsCancelledBeforeOrDuringTheFit()
    {
        var before = new MLContext(1);
        var estimator = before.Forecasting.OLinear(options: Tiny());
        CancelExecution(before);
        Assert.Throws<OperationCanceledException>(() => estimator.Fit(Split.Value));

        var during = new MLContext(1);
        var epochs = new List<OLinearEpoch>();
        var options = Tiny(epochs: 5);
        options.Progress = new OnEpoch(e => { epochs.Add(e); CancelExecution(during); });
        Assert.Throws<OperationCanceledException>(() => during.Forecasting.OLinear(options: options).Fit(Split.Value));
        Assert.Single(epochs);
    }

    [Fact]
    public void OrthoResidualStopsWhenTheContextIsCancelled()
    {
        var ml = new MLContext(1);
        var estimator = ml.Forecasting.OrthoResidual(ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 5),
            options: new OrthoResidualOptions { Components = 2, MaxTrainingWindows = 500, MaxValidationWindows = 500 });
        CancelExecution(ml);
        Assert.Throws<OperationCanceledException>(() => estimator.Fit(Split.Value));
    }
}
