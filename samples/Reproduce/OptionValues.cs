using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLTransforms.Reproduce;

/// <summary>Parsing and checks shared by the scenarios' settings; messages name the option and the value given.</summary>
internal static class OptionValues
{
    /// <summary>A comma-separated list of positive integers, or null when <paramref name="text"/> is not one.</summary>
    public static int[]? PositiveInts(string? text)
    {
        var parts = text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] <= 0)
                return null;
        return values.Length > 0 ? values : null;
    }

    /// <summary>A comma-separated list of finite numbers, or null when <paramref name="text"/> is not one.</summary>
    public static double[]? Doubles(string? text)
    {
        var parts = text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
                return null;
        return values.Length > 0 ? values : null;
    }

    /// <summary>The first failed check's message as a validation error, else success.</summary>
    public static ValidationResult FirstError(params (bool Ok, string Message)[] checks)
        => checks.FirstOrDefault(c => !c.Ok) is { Message: { } message } ? ValidationResult.Error(message) : ValidationResult.Success();

    /// <summary>The check that <paramref name="path"/>, when given, names an existing file.</summary>
    public static (bool, string) ExistingFile(string option, string? path)
        => (path is null || File.Exists(path), $"{option}: file '{path}' not found (looked in {Path.GetFullPath(path ?? ".")}).");

    /// <summary>The check that <paramref name="value"/>, when given, is positive.</summary>
    public static (bool, string) Positive(string option, int? value)
        => (value is null or > 0, $"{option} must be a positive integer; got {value}.");

    /// <summary>The check that <paramref name="text"/>, when given, is a list of positive integers.</summary>
    public static (bool, string) PositiveList(string option, string? text)
        => (text is null || PositiveInts(text) is not null, $"{option} must be a comma-separated list of positive integers; got '{text}'.");
}
