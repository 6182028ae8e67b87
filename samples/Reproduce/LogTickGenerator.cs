using System.Globalization;
using ScottPlot;

namespace MLTransforms.Reproduce;

/// <summary>
/// Ticks for an axis whose coordinates are log10 of the values: labels show the values (0.02, 500, 4096), major
/// ticks at 1, 10, 100 ... when the axis spans several decades, at 1-2-5 or 1..9 times a power of ten when it spans
/// less, so a narrow range still gets several labelled ticks; minor ticks at every integer multiple of each decade.
/// ScottPlot's NumericAutomatic with integer ticks gives one tick, or none, on an axis spanning less than a decade.
/// </summary>
/// <param name="format">Number format of the labels (invariant culture).</param>
/// <param name="values">When set, the major ticks are exactly these values (e.g. the sampled dimensions).</param>
public sealed class LogTickGenerator(string format = "G4", IReadOnlyList<double>? values = null) : ITickGenerator
{
    private static readonly double[][] Mantissas = [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]];

    /// <inheritdoc/>
    public Tick[] Ticks { get; set; } = [];

    /// <inheritdoc/>
    public int MaxTickCount { get; set; } = 1000;

    /// <summary>Sets this generator on <paramref name="axis"/>.</summary>
    public static void Apply(IAxis axis, string format = "G4", IReadOnlyList<double>? values = null)
        => axis.TickGenerator = new LogTickGenerator(format, values);

    /// <inheritdoc/>
    public void Regenerate(CoordinateRange range, Edge edge, PixelLength size, Paint paint, LabelStyle labelStyle)
    {
        double lo = Math.Min(range.Min, range.Max), hi = Math.Max(range.Min, range.Max);
        if (!double.IsFinite(lo) || !double.IsFinite(hi) || hi - lo > 300)
        {
            Ticks = [];
            return;
        }
        // Room for one label per ~70 px across, ~35 px up the side.
        int room = Math.Max(2, (int)(size.Length / (edge is Edge.Left or Edge.Right ? 35 : 70)));
        var majors = values?.Where(v => v > 0 && Math.Log10(v) >= lo && Math.Log10(v) <= hi).ToList() ?? ChooseMajors(lo, hi, room);
        var ticks = majors.Select(v => new Tick(Math.Log10(v), v.ToString(format, CultureInfo.InvariantCulture), true)).ToList();
        for (int k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
            for (int m = 1; m <= 9; m++)
            {
                double position = k + Math.Log10(m);
                if (position >= lo && position <= hi && !ticks.Any(t => Math.Abs(t.Position - position) < 1e-9))
                    ticks.Add(new Tick(position, "", false));
            }
        Ticks = ticks.Take(MaxTickCount).ToArray();
    }

    /// <summary>The coarsest of decades, 1-2-5 and 1..9 that gives at least three labels in the room, else a linear step.</summary>
    private static List<double> ChooseMajors(double lo, double hi, int room)
    {
        List<double>? fallback = null;
        foreach (var mantissas in Mantissas)
        {
            var candidates = new List<double>();
            for (int k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
                foreach (double m in mantissas)
                {
                    double v = m * Math.Pow(10, k);
                    if (Math.Log10(v) >= lo && Math.Log10(v) <= hi) candidates.Add(v);
                }
            if (candidates.Count > room) return fallback ?? Thin(candidates, room);
            if (candidates.Count >= 3) return candidates;
            fallback = candidates;
        }
        // Less than a factor of about 1.5 across: evenly spaced values with a round step.
        double a = Math.Pow(10, lo), b = Math.Pow(10, hi);
        double raw = (b - a) / Math.Min(room, 5), magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(f => f * magnitude).First(s => s >= raw);
        var linear = new List<double>();
        for (double v = Math.Ceiling(a / step) * step; v <= b; v += step) linear.Add(v);
        return linear;
    }

    /// <summary>Every n-th decade when even one tick per decade is too many.</summary>
    private static List<double> Thin(List<double> decades, int room)
    {
        int every = (decades.Count + room - 1) / room;
        return decades.Where((_, i) => i % every == 0).ToList();
    }
}
