using System.ComponentModel;
using System.Reflection;
using Spectre.Console.Cli;
using Spectre.Console.Testing;
using Xunit;

namespace MLTransforms.Reproduce.Tests;

/// <summary>The command line in-process: help, and bad command lines. No scenario runs (every case fails before one would).</summary>
public sealed class CommandLineTests
{
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string> { "" };
        foreach (var s in Program.Scenarios) data.Add(s.Name);
        return data;
    }

    private static (int ExitCode, string Output) Run(params string[] args)
    {
        var console = new TestConsole();
        console.Profile.Width = 250;
        int code = Program.Run(args, console);
        return (code, console.Output);
    }

    private static IEnumerable<string> LongOptions(Type settings) => settings.GetProperties()
        .Select(p => p.GetCustomAttribute<CommandOptionAttribute>())
        .Where(o => o != null)
        .SelectMany(o => o!.LongNames.Select(n => "--" + n));

    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_exits_zero_and_lists_every_option(string command)
    {
        var settings = command == "" ? typeof(ScenarioSettings) : Program.Scenarios.Single(s => s.Name == command).SettingsType;
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, output) = Run(command == "" ? [flag] : [command, flag]);
            Assert.Equal(0, code);
            Assert.Contains("USAGE:", output);
            foreach (var option in LongOptions(settings))
                Assert.Contains(option, output);
            Assert.DoesNotContain("   at ", output);
        }
    }

    [Fact]
    public void Root_help_lists_every_command()
    {
        var (code, output) = Run("--help");
        Assert.Equal(0, code);
        Assert.NotEmpty(Program.Scenarios);
        foreach (var s in Program.Scenarios)
            Assert.Contains(s.Name, output);
    }

    [Theory]
    [InlineData("nosuch", "nosuch")]
    [InlineData("--bogus", "bogus")]
    [InlineData("rotations --bogus", "bogus")]
    [InlineData("rotations --draws abc", "abc")]
    [InlineData("rotations --draws=abc", "abc")]
    [InlineData("rotations --draws", "--draws")]
    [InlineData("rotations --draws --scifact", "--draws")]
    [InlineData("rotations --draws 0", "--draws")]
    [InlineData("forecast --data nope.csv", "nope.csv")]
    [InlineData("forecast --horizons 96,x", "96,x")]
    [InlineData("forecast --normalization xyz", "xyz")]
    [InlineData("olinear --data nope.csv", "nope.csv")]
    [InlineData("olinear --ensemble 1,2", "--ensemble")]
    [InlineData("olinear --dropout 1.5", "--dropout")]
    [InlineData("olinear --max-windows 10 --all-windows", "--all-windows")]
    [InlineData("onnx --out", "--out")]
    [InlineData("quantize --bits 1,5", "1,5")]
    [InlineData("quantize --seeds 0", "--seeds")]
    [InlineData("quantize --bits x", "--bits")]
    [InlineData("quantize --rerank 0", "--rerank")]
    [InlineData("quantize --embeddings /nonexistent/mlt_quant_dir", "mlt_quant_dir")]
    [InlineData("quantize --models ,", "--models")]
    [InlineData("onnx extra", "extra")]
    public void Bad_command_line_is_one_line_and_exit_code_2(string line, string offending)
    {
        var (code, output) = Run(line.Split(' '));
        Assert.Equal(Program.UsageError, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines);
        Assert.Contains(offending, lines[0]);
        Assert.DoesNotContain("   at ", output);
    }

    public static TheoryData<string> NumericOptions()
    {
        var data = new TheoryData<string>();
        foreach (var s in Program.Scenarios)
            foreach (var p in s.SettingsType.GetProperties())
            {
                var option = p.GetCustomAttribute<CommandOptionAttribute>();
                var type = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
                if (option != null && (type == typeof(int) || type == typeof(double) || type == typeof(float) || type == typeof(long)))
                    data.Add($"{s.Name} --{option.LongNames[0]}");
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Unknown_option_is_rejected_by_every_command(string command)
    {
        var (code, output) = Run(command == "" ? ["--bogus"] : [command, "--bogus"]);
        Assert.Equal(Program.UsageError, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines);
        Assert.Contains("bogus", lines[0]);
    }

    [Theory]
    [MemberData(nameof(NumericOptions))]
    public void Every_numeric_option_rejects_text_in_one_line(string commandAndOption)
    {
        var (code, output) = Run([.. commandAndOption.Split(' '), "abc"]);
        Assert.Equal(Program.UsageError, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines);
        Assert.Contains(commandAndOption.Split(' ')[1], lines[0]);
        Assert.Contains("abc", lines[0]);
    }

    [Theory]
    [InlineData("forecast")]
    [InlineData("olinear")]
    public void Missing_data_file_is_one_line_naming_the_path(string command)
    {
        var missing = Path.Combine(Path.GetTempPath(), $"mlt_missing_{Guid.NewGuid():N}", "series.csv");
        var (code, output) = Run(command, "--data", missing);
        Assert.Equal(Program.UsageError, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines);
        Assert.Contains("series.csv", lines[0]);
    }

    [Fact]
    public void Conversion_error_names_the_option_and_the_value()
    {
        var (_, output) = Run("rotations", "--draws", "abc");
        Assert.Contains("--draws", output);
        Assert.Contains("'abc'", output);
    }

    public static TheoryData<Type> SettingsTypes()
    {
        var data = new TheoryData<Type> { typeof(ScenarioSettings) };
        foreach (var t in Program.Scenarios.Select(s => s.SettingsType).Distinct().Where(t => t != typeof(ScenarioSettings))) data.Add(t);
        return data;
    }

    [Theory]
    [MemberData(nameof(SettingsTypes))]
    public void Help_defaults_are_the_defaults_of_the_run_without_a_command(Type type)
    {
        // The run without a command uses new TSettings(); help shows [DefaultValue]: they must agree.
        var settings = Activator.CreateInstance(type)!;
        foreach (var p in type.GetProperties().Where(p => p.GetCustomAttribute<CommandOptionAttribute>() != null))
        {
            if (p.GetCustomAttribute<DefaultValueAttribute>() is { } shown)
                Assert.Equal(shown.Value, p.GetValue(settings));
            Assert.False(string.IsNullOrWhiteSpace(p.GetCustomAttribute<DescriptionAttribute>()?.Description), $"{type.Name}.{p.Name} has no description");
        }
    }

    [Theory]
    [MemberData(nameof(SettingsTypes))]
    public void Default_settings_are_valid(Type type)
    {
        var settings = (CommandSettings)Activator.CreateInstance(type)!;
        var result = settings.Validate();
        Assert.True(result.Successful, result.Message);
    }
}
