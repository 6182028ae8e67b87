using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

// Usage: MLTransforms.LoadCheck <model.zip> <input.csv> <output.csv> <column>[,<column>...]
// input.csv: no header, one row per line, the model's input columns in schema order (vectors spread over their
// slots; Single, Boolean (0/1) and known-size Single vectors). output.csv: the requested columns, round-trip floats.
// stdout: one line per requested column with its type, then the transformer types of the loaded chain.
if (args.Length != 4)
{
    Console.Error.WriteLine("Usage: MLTransforms.LoadCheck <model.zip> <input.csv> <output.csv> <col1,col2,...>");
    return 2;
}
var ml = new MLContext(seed: 0);
var model = ml.Model.Load(args[0], out var inputSchema);
var columns = new List<TextLoader.Column>();
int position = 0;
foreach (var col in inputSchema)
{
    if (col.IsHidden) continue;
    var (kind, size) = col.Type switch
    {
        VectorDataViewType v when v.ItemType == NumberDataViewType.Single && v.Size > 0 => (DataKind.Single, v.Size),
        NumberDataViewType n when n == NumberDataViewType.Single => (DataKind.Single, 0),
        BooleanDataViewType => (DataKind.Boolean, 0),
        _ => throw new NotSupportedException($"Input column '{col.Name}' has type {col.Type}; LoadCheck reads Single, Boolean and Single vectors."),
    };
    columns.Add(size == 0
        ? new TextLoader.Column(col.Name, kind, position)
        : new TextLoader.Column(col.Name, kind, position, position + size - 1));
    position += Math.Max(size, 1);
}
var data = ml.Data.LoadFromTextFile(args[1], columns.ToArray(), separatorChar: ',', hasHeader: false);
var scored = model.Transform(data);
var wanted = args[3].Split(',');
foreach (var name in wanted)
    Console.WriteLine($"column {name} {scored.Schema[name].Type}");
foreach (var t in Flatten(model))
    Console.WriteLine($"step {t.GetType().FullName}");

using var writer = new StreamWriter(args[2]);
using var cursor = scored.GetRowCursor(wanted.Select(n => scored.Schema[n]));
var getters = wanted.Select(n => MakeGetter(cursor, scored.Schema[n])).ToArray();
var line = new List<string>();
while (cursor.MoveNext())
{
    line.Clear();
    foreach (var g in getters) g(line);
    writer.WriteLine(string.Join(',', line));
}
return 0;

static IEnumerable<ITransformer> Flatten(ITransformer t) =>
    t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

static Action<List<string>> MakeGetter(DataViewRowCursor cursor, DataViewSchema.Column col)
{
    switch (col.Type)
    {
        case VectorDataViewType:
        {
            var g = cursor.GetGetter<VBuffer<float>>(col);
            var buffer = default(VBuffer<float>);
            return line => { g(ref buffer); foreach (var v in buffer.DenseValues()) line.Add(v.ToString("R", CultureInfo.InvariantCulture)); };
        }
        case BooleanDataViewType:
        {
            var g = cursor.GetGetter<bool>(col);
            bool value = false;
            return line => { g(ref value); line.Add(value ? "1" : "0"); };
        }
        default:
        {
            var g = cursor.GetGetter<float>(col);
            float value = 0;
            return line => { g(ref value); line.Add(value.ToString("R", CultureInfo.InvariantCulture)); };
        }
    }
}
