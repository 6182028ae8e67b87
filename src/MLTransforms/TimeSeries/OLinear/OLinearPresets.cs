namespace MLTransforms.TimeSeries.OLinear;

/// <summary>The data sets whose OLinear settings the authors publish (scripts/OLinear/*_orthoLinear.sh of the OLinear
/// repository); <see cref="Other"/> for any other data.</summary>
public enum OLinearDataset
{
    /// <summary>Any other data set: the generic defaults of <see cref="OLinearOptions"/> (the ETTh1 settings).</summary>
    Other,
    /// <summary>ETTh1 (7 channels, hourly).</summary>
    ETTh1,
    /// <summary>ETTh2 (7 channels, hourly).</summary>
    ETTh2,
    /// <summary>ETTm1 (7 channels, 15-minute).</summary>
    ETTm1,
    /// <summary>ETTm2 (7 channels, 15-minute).</summary>
    ETTm2,
    /// <summary>Weather (21 channels).</summary>
    Weather,
    /// <summary>ECL / electricity (321 channels).</summary>
    Electricity,
    /// <summary>Traffic (862 channels).</summary>
    Traffic,
    /// <summary>Exchange rate (8 channels).</summary>
    Exchange,
    /// <summary>ILI / national_illness (7 channels, weekly; the authors use lookback 12 and horizons 3 to 12).</summary>
    Illness,
    /// <summary>Solar (137 channels).</summary>
    Solar,
}

/// <summary>The authors' published OLinear settings as named presets.</summary>
public static class OLinearPresets
{
    /// <summary>
    /// The authors' settings for <paramref name="dataset"/> at <paramref name="horizon"/> (their lookback is 96, 12 for
    /// ILI): learning rate, dropout, NormLin blocks (e_layers), d_model = d_ff, batch size, epochs and patience per
    /// data set and horizon; embedding 16 everywhere. A horizon between the published ones takes the settings of the
    /// largest published horizon below it (the smallest one when below all). The authors' learning-rate schedules
    /// other than halving every epoch (type3 for Weather and ILI, cosine for ECL and Traffic) are approximated by a
    /// decay of 0.9 per epoch, the only schedule this trainer has. <see cref="OLinearDataset.Other"/>: the documented
    /// defaults of <see cref="OLinearOptions"/> (the fallback for any data set not listed; no exception).
    /// </summary>
    /// <param name="dataset">The data set.</param>
    /// <param name="horizon">Forecast horizon H, positive.</param>
    /// <param name="seed">Seed of the run; <see langword="null"/>: drawn from the context the estimator is made in
    /// (see <see cref="OLinearOptions.Seed"/>).</param>
    public static OLinearOptions Authors(OLinearDataset dataset, int horizon, int? seed = null)
    {
        Core.Pipeline.SchemaChecks.CheckOption(horizon > 0, nameof(horizon), horizon, "positive");
        var o = new OLinearOptions { Seed = seed };
        int[] hs = dataset == OLinearDataset.Illness ? [3, 6, 9, 12] : [96, 192, 336, 720];
        int i = 0;
        while (i + 1 < hs.Length && horizon >= hs[i + 1]) i++;
        T Pick<T>(T[] v) => v[i];
        switch (dataset)
        {
            case OLinearDataset.ETTh1: o.LearningRate = Pick([5e-4, 5e-4, 5e-4, 1e-4]); o.Dropout = 0.2f; break;
            case OLinearDataset.ETTh2: o.LearningRate = 2e-4; o.Dropout = Pick([0.2f, 0.2f, 0.2f, 0.3f]); o.Blocks = 3; break;
            case OLinearDataset.ETTm1: o.LearningRate = 1e-4; o.Dropout = Pick([0.1f, 0.1f, 0.1f, 0.2f]); break;
            case OLinearDataset.ETTm2: o.LearningRate = 1e-4; o.Dropout = Pick([0.2f, 0.2f, 0.2f, 0.3f]); o.Blocks = 1; break;
            case OLinearDataset.Weather: o.LearningRate = 1e-3; o.Dropout = 0; o.Patience = 5; o.LearningRateDecay = 0.9; break;
            case OLinearDataset.Electricity: o.LearningRate = 5e-4; o.Dropout = 0; o.Blocks = 3; o.MaxEpochs = Pick([30, 50, 50, 50]); o.Patience = 5; o.LearningRateDecay = 0.9; break;
            case OLinearDataset.Traffic: o.LearningRate = 5e-4; o.Dropout = 0; o.Blocks = 3; o.MaxEpochs = 50; o.Patience = 5; o.LearningRateDecay = 0.9; break;
            case OLinearDataset.Exchange:
                o.LearningRate = 1e-4; o.Dropout = 0; o.ModelWidth = o.FeedForwardWidth = Pick([256, 128, 256, 256]);
                o.BatchSize = Pick([64, 32, 64, 32]); o.MaxEpochs = 1; break;
            case OLinearDataset.Illness: o.LearningRate = 1e-4; o.Dropout = 0; o.BatchSize = 4; o.MaxEpochs = Pick([50, 50, 50, 30]); o.Patience = 10; o.LearningRateDecay = 0.9; break;
            case OLinearDataset.Solar: o.LearningRate = 5e-4; o.Dropout = 0; o.MaxEpochs = Pick([40, 30, 40, 30]); o.Patience = 5; break;
        }
        return o;
    }
}
