using Google.Protobuf;
using Onnx;

namespace MLTransforms.Core.Onnx;

/// <summary>Parses ONNX bytes with protobuf and checks the graph is whole before ONNX Runtime sees it, so a corrupt
/// or truncated file fails with a managed exception naming it, never in native code.</summary>
internal static class OnnxModelCheck
{
    /// <summary>Returns the parsed model or throws <see cref="InvalidDataException"/> naming <paramref name="what"/>.</summary>
    public static ModelProto Parse(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.IsEmpty)
            throw new InvalidDataException($"{what} is empty; expected an ONNX model.");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{what} is not a valid ONNX model ({bytes.Length} bytes): protobuf parsing failed ({e.Message}); the file is corrupt or truncated.", e);
        }
        if (model.IrVersion <= 0 || model.Graph is null || model.OpsetImport.Count == 0)
            throw new InvalidDataException($"{what} is not a valid ONNX model ({bytes.Length} bytes): it has {(model.Graph is null ? "no graph" : model.IrVersion <= 0 ? "no IR version" : "no opset import")}; the file is corrupt, truncated or not ONNX.");
        if (model.Graph.Output.Count == 0)
            throw new InvalidDataException($"{what} is not a usable ONNX model: its graph has no outputs; the file is corrupt or truncated.");

        var defined = new HashSet<string>(StringComparer.Ordinal) { "" };
        foreach (var i in model.Graph.Input) defined.Add(i.Name);
        foreach (var t in model.Graph.Initializer) defined.Add(t.Name);
        foreach (var node in model.Graph.Node)
        {
            foreach (var input in node.Input)
                if (!defined.Contains(input))
                    throw new InvalidDataException($"{what} is not a usable ONNX model: node '{node.Name}' ({node.OpType}) reads '{input}', which no input, initializer or earlier node defines; the file is corrupt or truncated.");
            foreach (var output in node.Output) defined.Add(output);
        }
        foreach (var output in model.Graph.Output)
            if (!defined.Contains(output.Name))
                throw new InvalidDataException($"{what} is not a usable ONNX model: graph output '{output.Name}' is never computed; the file is corrupt or truncated.");
        return model;
    }
}
