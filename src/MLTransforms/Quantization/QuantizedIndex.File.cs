using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using MLTransforms.Rotations;

namespace MLTransforms.Quantization;

public sealed partial class QuantizedIndex
{
    /// <summary>Version of the file format <see cref="Save(Stream)"/> writes.</summary>
    public const int FileFormatVersion = 2;

    private static readonly byte[] Magic = "MLTQIDX\0"u8.ToArray();

    /// <summary>
    /// Writes the index to <paramref name="stream"/>, streaming (records are written in chunks, never the whole file
    /// in memory).
    /// </summary>
    /// <remarks>
    /// Format (little-endian): a header, "MLTQIDX\0", int32 version, int32 dimension, int32 padded dimension, int32
    /// bits, int32 rotation blocks, int32 rotation seed, int32 grid exponent, int32 shaping passes, byte centred, byte
    /// keeps vectors, int64
    /// count, int32 number of levels L, L - 1 double thresholds, L double levels, d float mean, then the header's
    /// CRC-32; then count records (int64 id, code bytes, float f, float g, and d floats with kept vectors), then the
    /// CRC-32 of the records. <see cref="Load(Stream)"/> checks both.
    /// </remarks>
    /// <param name="stream">A writable stream.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _lock.EnterReadLock();
        try
        {
            var q = Quantizer;
            var header = new MemoryStream();
            using (var w = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(FileFormatVersion);
                w.Write(q.Dimension);
                w.Write(q.PaddedDimension);
                w.Write(q.Bits);
                w.Write(q.Rotation.Blocks);
                w.Write(q.Seed);
                w.Write(q.GridExponent);
                w.Write(q.ShapingPasses);
                w.Write((byte)(q.Centered ? 1 : 0));
                w.Write((byte)(KeepsVectors ? 1 : 0));
                w.Write((long)_count);
                w.Write(q.Levels.Length);
                foreach (var t in q.Thresholds) w.Write(t);
                foreach (var l in q.Levels) w.Write(l);
                foreach (var m in q.Mean) w.Write(m);
            }
            var headerBytes = header.ToArray();
            stream.Write(headerBytes);
            WriteUInt32(stream, Crc32.HashToUInt32(headerBytes));

            int record = RecordSize(q, KeepsVectors), d = q.Dimension, cb = q.CodeBytes;
            var crc = new Crc32();
            const int chunk = 1024;
            var buffer = new byte[chunk * record];
            var code = new byte[cb];
            for (int start = 0; start < _count; start += chunk)
            {
                int n = Math.Min(chunk, _count - start);
                for (int i = 0; i < n; i++)
                {
                    int v = start + i;
                    var span = buffer.AsSpan(i * record, record);
                    BinaryPrimitives.WriteInt64LittleEndian(span, _ids[v]);
                    ReadCode(v, code);
                    code.CopyTo(span[8..]);
                    BinaryPrimitives.WriteSingleLittleEndian(span[(8 + cb)..], _factors[v]);
                    BinaryPrimitives.WriteSingleLittleEndian(span[(12 + cb)..], _offsets[v]);
                    if (_vectors is not null)
                        for (int j = 0; j < d; j++)
                            BinaryPrimitives.WriteSingleLittleEndian(span[(16 + cb + 4 * j)..], _vectors[v * d + j]);
                }
                var bytes = buffer.AsSpan(0, n * record);
                crc.Append(bytes);
                stream.Write(bytes);
            }
            WriteUInt32(stream, crc.GetCurrentHashAsUInt32());
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Writes the index to the file <paramref name="path"/> (see <see cref="Save(Stream)"/>).</summary>
    /// <param name="path">The file to create or overwrite.</param>
    public void Save(string path)
    {
        using var file = File.Create(path);
        Save(file);
    }

    /// <summary>Reads an index written by <see cref="Save(Stream)"/>, streaming, and checks it.</summary>
    /// <param name="stream">A readable stream positioned at the start of the index.</param>
    /// <returns>The index, equal to the saved one.</returns>
    /// <exception cref="InvalidDataException">Not an index file, an unsupported version, a header or record checksum that
    /// does not match, inconsistent header fields, or a truncated file; the message says which.</exception>
    public static QuantizedIndex Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        // Version 1 (before error shaping) lacks the shaping passes: its codes are the nearest cells (0 passes).
        var opening = new byte[12];
        ReadExactly(stream, opening, "header");
        if (!opening.AsSpan(0, 8).SequenceEqual(Magic))
            throw new InvalidDataException($"Not a quantized index file: the first 8 bytes are not \"MLTQIDX\\0\".");
        int version = BinaryPrimitives.ReadInt32LittleEndian(opening.AsSpan(8));
        if (version is not (1 or FileFormatVersion))
            throw new InvalidDataException($"Quantized index file version {version} is not supported; this library reads versions 1 and {FileFormatVersion}.");
        int ints = version == 1 ? 7 : 8;
        var fixedPart = new byte[8 + 4 * ints + 2 + 8 + 4];
        opening.CopyTo(fixedPart, 0);
        ReadExactly(stream, fixedPart.AsSpan(12), "header");
        int At(int i) => BinaryPrimitives.ReadInt32LittleEndian(fixedPart.AsSpan(8 + 4 * i));
        int dimension = At(1), padded = At(2), bits = At(3), blocks = At(4), seed = At(5), exponent = At(6);
        int passes = version == 1 ? 0 : At(7);
        int after = 8 + 4 * ints;
        byte centered = fixedPart[after], keep = fixedPart[after + 1];
        long count = BinaryPrimitives.ReadInt64LittleEndian(fixedPart.AsSpan(after + 2));
        int levels = BinaryPrimitives.ReadInt32LittleEndian(fixedPart.AsSpan(after + 10));
        // Check the sizes before reading the variable part, so a corrupt header cannot ask for a huge buffer.
        if (levels is < 2 or > 256 || dimension is < 8 or > 1 << 16)
            throw new InvalidDataException($"Quantized index header is corrupt: {levels} codebook levels (expected 2..256), dimension {dimension} (expected 8..65536).");
        var variable = new byte[8 * (levels - 1) + 8 * levels + 4 * dimension + 4];
        ReadExactly(stream, variable, "header");
        var crc = new Crc32();
        crc.Append(fixedPart);
        crc.Append(variable.AsSpan(0, variable.Length - 4));
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(variable.AsSpan(variable.Length - 4));
        if (crc.GetCurrentHashAsUInt32() != stored)
            throw new InvalidDataException($"Quantized index header is corrupt: its CRC-32 is {crc.GetCurrentHashAsUInt32():x8}, the file stores {stored:x8}.");
        if (!QuantizationCodebook.IsSupported(bits) || levels != 1 << bits || padded != WalshHadamard.PaddedLength(dimension) ||
            blocks is < StructuredRotation.MinBlocks or > StructuredRotation.MaxBlocks || exponent is < -120 or > 120 || centered > 1 || keep > 1 || count < 0 || count > int.MaxValue ||
            passes is < 0 or > EmbeddingQuantizerOptions.MaxShapingPasses)
            throw new InvalidDataException($"Quantized index header is inconsistent: bits {bits}, {levels} levels, dimension {dimension} padded to {padded}, {blocks} blocks, grid exponent {exponent}, {passes} shaping passes, count {count}.");
        var mean = new float[dimension];
        int offset = 16 * levels - 8;
        for (int i = 0; i < dimension; i++) mean[i] = BinaryPrimitives.ReadSingleLittleEndian(variable.AsSpan(offset + 4 * i));
        var quantizer = new EmbeddingQuantizer(dimension, bits, blocks, seed, mean, centered == 1, exponent, passes);
        for (int j = 0; j < levels; j++)
        {
            double level = BinaryPrimitives.ReadDoubleLittleEndian(variable.AsSpan(8 * (levels - 1) + 8 * j));
            double threshold = j < levels - 1 ? BinaryPrimitives.ReadDoubleLittleEndian(variable.AsSpan(8 * j)) : 0;
            if (level != quantizer.Levels[j] || (j < levels - 1 && threshold != quantizer.Thresholds[j]))
                throw new InvalidDataException($"Quantized index codebook differs from this library's {bits}-bit codebook at entry {j}: the file was written by an incompatible version.");
        }

        var index = new QuantizedIndex(quantizer, keep == 1);
        int record = RecordSize(quantizer, keep == 1), d = dimension, cb = quantizer.CodeBytes, total = (int)count;
        var body = new Crc32();
        const int chunk = 1024;
        var buffer = new byte[Math.Min(chunk, Math.Max(total, 1)) * record];
        for (int start = 0; start < total; start += chunk)
        {
            int n = Math.Min(chunk, total - start);
            var bytes = buffer.AsSpan(0, n * record);
            ReadExactly(stream, bytes, $"records ({total} of {record} bytes expected)");
            body.Append(bytes);
            var ids = new long[n];
            var codes = new byte[n * cb];
            var f = new float[n];
            var g = new float[n];
            var vectors = keep == 1 ? new float[n * d] : null;
            for (int i = 0; i < n; i++)
            {
                var span = bytes.Slice(i * record, record);
                ids[i] = BinaryPrimitives.ReadInt64LittleEndian(span);
                span.Slice(8, cb).CopyTo(codes.AsSpan(i * cb));
                f[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(8 + cb)..]);
                g[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(12 + cb)..]);
                if (vectors is not null)
                    for (int j = 0; j < d; j++) vectors[i * d + j] = BinaryPrimitives.ReadSingleLittleEndian(span[(16 + cb + 4 * j)..]);
            }
            index.Append(codes, f, g, ids, n, vectors);
        }
        var tail = new byte[4];
        ReadExactly(stream, tail, "records checksum");
        uint storedBody = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        if (body.GetCurrentHashAsUInt32() != storedBody)
            throw new InvalidDataException($"Quantized index records are corrupt: their CRC-32 is {body.GetCurrentHashAsUInt32():x8}, the file stores {storedBody:x8}.");
        return index;
    }

    /// <summary>Reads an index from the file <paramref name="path"/> (see <see cref="Load(Stream)"/>).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is corrupt or truncated.</exception>
    public static QuantizedIndex Load(string path)
    {
        using var file = File.OpenRead(path);
        return Load(file);
    }

    private static int RecordSize(EmbeddingQuantizer q, bool keep) => 16 + q.CodeBytes + (keep ? 4 * q.Dimension : 0);

    private static void WriteUInt32(Stream s, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        s.Write(b);
    }

    private static void ReadExactly(Stream s, Span<byte> buffer, string what)
    {
        int read = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
            throw new InvalidDataException($"Quantized index file is truncated: the {what} need {buffer.Length} more bytes, the stream ended after {read}.");
    }
}
