using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MLTransforms.Core.Pipeline;

/// <summary>
/// Base class of every MLTransforms estimator: reads one known-size <see cref="float"/> vector column and, once
/// fitted, appends one known-size <see cref="float"/> vector column.
/// </summary>
/// <typeparam name="TTransformer">The fitted transformer.</typeparam>
public abstract class VectorEstimator<TTransformer> : IEstimator<TTransformer> where TTransformer : VectorTransformer
{
    /// <summary>Registers the estimator's host with <paramref name="env"/> and initialises the column names.</summary>
    /// <param name="env">The ML.NET environment (an <see cref="MLContext"/>, or the environment of the catalog the
    /// estimator came from): the host registered with it, named after the estimator type, seeds, logs and cancels.</param>
    /// <param name="outputColumnName">Name of the column the transformer appends.</param>
    /// <param name="inputColumnName">Name of the input column; <see langword="null"/> means <paramref name="outputColumnName"/>.</param>
    protected VectorEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        Host = env.Register(GetType().Name);
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName ?? outputColumnName;
    }

    /// <summary>The estimator's host: <see cref="IHost.Rand"/> gives seeds drawn from the context's seed, its channels
    /// write to <c>MLContext.Log</c>, and it reports a cancelled context.</summary>
    protected IHost Host { get; }

    /// <summary>Name of the column the fitted transformer appends.</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the column the estimator reads.</summary>
    public string InputColumnName { get; }

    /// <summary>Fits the transformer on <paramref name="input"/>.</summary>
    /// <param name="input">Training data holding <see cref="InputColumnName"/>.</param>
    public abstract TTransformer Fit(IDataView input);

    /// <inheritdoc/>
    public virtual SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.CheckVectorColumn(inputSchema, InputColumnName);
        return SchemaChecks.WithVectorColumn(inputSchema, OutputColumnName, InputColumnName);
    }

    /// <summary>Checks the input column of <paramref name="input"/> and returns its vector size.</summary>
    protected int CheckInput(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return ((VectorDataViewType)SchemaChecks.CheckVectorColumn(input.Schema, InputColumnName).Type).Size;
    }

    /// <summary>Reads up to <paramref name="maxRows"/> rows of the input column into a dense row-major matrix, for
    /// fitting.</summary>
    /// <returns>The values (rows x size), the number of rows read and the vector size.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or not a known-size Single vector.</exception>
    /// <exception cref="InvalidOperationException">The data is empty or holds NaN or infinity.</exception>
    protected (float[] Values, int Rows, int Size) ReadInput(IDataView input, long maxRows = long.MaxValue)
        => VectorColumn.Read(input, InputColumnName, maxRows);
}
