using System.Globalization;
using Microsoft.ML;
using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

public sealed class CsvLoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlt_csv_").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, params string[] lines)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    [Theory]
    [InlineData("data/timeseries/ETTh1.csv")]
    [InlineData("data/timeseries/national_illness.csv")]
    public void CommittedFilesLoadBitIdenticalToAPlainSplitParse(string relative)
    {
        // The committed files hold no quotes, so splitting on commas is their exact reading (the loader's former code).
        string path = TestData.Repo(relative);
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        var series = MultivariateSeries.LoadCsv(path);
        Assert.Equal(header.Skip(1), series.ColumnNames);
        Assert.Equal(lines.Length - 1, series.Length);
        for (int c = 0; c < series.ChannelCount; c++)
        {
            var channel = series.Channel(c);
            for (int r = 0; r < series.Length; r++)
            {
                float expected = float.Parse(lines[r + 1].Split(',')[c + 1], NumberStyles.Float, CultureInfo.InvariantCulture);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(channel[r]));
            }
        }
    }

    [Fact]
    public void QuotedFieldsWithCommasAndQuotedNumbersParse()
    {
        var path = Write("quoted.csv", "date,\"load, kW\",temp", "\"2020-01-01, 00:00\",\"1.5\",2", "\"2020-01-02, 00:00\",\"1,5e0\",3");
        var e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(path));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("column 'load, kW'", e.Message);
        Assert.Contains("'1,5e0'", e.Message);

        path = Write("quoted2.csv", "date,\"load, kW\",temp", "\"2020-01-01, 00:00\",\"1.5\",2", "\"2020-01-02, 00:00\", \"-2.25\" ,3");
        var series = MultivariateSeries.LoadCsv(path);
        Assert.Equal(["load, kW", "temp"], series.ColumnNames);
        Assert.Equal([1.5f, -2.25f], series.Channel(0).ToArray());
        Assert.Equal([2f, 3f], series.Channel(1).ToArray());
    }

    [Fact]
    public void ParsingIgnoresTheCurrentCulture()
    {
        var path = Write("culture.csv", "date,x", "d1,1.5", "d2,1000.25");
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            Assert.Equal([1.5f, 1000.25f], MultivariateSeries.LoadCsv(path).Channel(0).ToArray());
        }
        finally { CultureInfo.CurrentCulture = saved; }
    }

    [Theory]
    [InlineData("")]
    [InlineData("NA")]
    [InlineData("nan")]
    [InlineData("N/A")]
    [InlineData("\"\"")]
    public void MissingFieldsFollowTheChosenHandling(string missingField)
    {
        var path = Write("missing.csv", "date,x,y", "d1,1,2", $"d2,2,{missingField}", "d3,3,7");
        var e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(path));
        Assert.Contains("Column 'y'", e.Message);
        Assert.Contains("row 1 (line 3 of", e.Message);
        Assert.Contains("MissingValueHandling.CarryForward", e.Message);
        var filled = MultivariateSeries.LoadCsv(path, MissingValueHandling.CarryForward);
        Assert.Equal([2f, 2f, 7f], filled.Channel(1).ToArray());
    }

    [Fact]
    public void LineNumbersCountEmptyAndQuotedMultiLineRows()
    {
        var path = Write("lines.csv", "date,x,y", "d1,1,2", "", "\"d2\nsecond line\",2,3", "d3,3,");
        var e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(path));
        Assert.Contains("Column 'y'", e.Message);
        Assert.Contains("row 2 (line 6 of", e.Message);
    }

    [Theory]
    [InlineData(MissingValueHandling.Throw)]
    [InlineData(MissingValueHandling.CarryForward)]
    public void ANonNumericFieldNamesLineColumnAndText(MissingValueHandling missing)
    {
        var path = Write("text.csv", "date,x,y", "d1,1,2", "d2,2,abc", "d3,3,4");
        var e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(path, missing));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("column 'y'", e.Message);
        Assert.Contains("'abc'", e.Message);
    }

    [Fact]
    public void EmptyHeaderOnlyAndDateOnlyFilesAreRejected()
    {
        var empty = Path.Combine(_dir, "empty.csv");
        File.WriteAllText(empty, "");
        var e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(empty));
        Assert.Contains("is empty: expected a header line", e.Message);

        e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(Write("header.csv", "date,x,y")));
        Assert.Contains("has a header but no data rows", e.Message);

        e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(Write("dates.csv", "date", "2020-01-01", "2020-01-02")));
        Assert.Contains("only the date column 'date'", e.Message);
        Assert.Contains("at least one numeric column", e.Message);
    }

    [Fact]
    public void DuplicateAndUnnamedColumnsAreRejected()
    {
        var e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(Write("dup.csv", "date,x,y,x", "d1,1,2,3")));
        Assert.Contains("'x' appears twice (columns 2 and 4)", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(Write("unnamed.csv", "date,x,,y", "d1,1,2,3")));
        Assert.Contains("column 3 of the header has no name", e.Message);
    }

    [Fact]
    public void WrongFieldCountAndBrokenQuotingNameTheLine()
    {
        var e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(Write("count.csv", "date,x,y", "d1,1,2", "d2,3")));
        Assert.Contains("data row 1 (line 3) has 2 fields; expected 3", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(Write("quote.csv", "date,x,y", "d1,1,2", "d2,\"3\"x,4")));
        Assert.Contains("malformed at line 3", e.Message);
    }

    [Fact]
    public void LoadingFromADataViewStillWorks()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { A = 1, B = 2.5 }, new Row { A = 3, B = -1 } });
        var series = MultivariateSeries.FromDataView(data, name: "rows");
        Assert.Equal(["A", "B"], series.ColumnNames);
        Assert.Equal([1f, 3f], series.Channel(0).ToArray());
        Assert.Equal([2.5f, -1f], series.Channel(1).ToArray());
    }

    private sealed class Row
    {
        public float A { get; set; }
        public double B { get; set; }
    }
}
