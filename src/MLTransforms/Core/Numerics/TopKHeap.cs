namespace MLTransforms.Core.Numerics;

/// <summary>A fixed-size min-heap of (score, index) for top-k search: the root is the worst of the best k seen; ties
/// keep the lower index. Used by exact search and the quantized index.</summary>
internal sealed class TopKHeap(int k)
{
    private readonly float[] _s = new float[k];
    private readonly int[] _i = new int[k];
    private int _n;

    /// <summary>Entries held: min(k, offers).</summary>
    public int Count => _n;

    /// <summary>The score an offer must beat to enter: the root's once the heap is full, else negative infinity.</summary>
    public float Worst => _n < _s.Length ? float.NegativeInfinity : _s[0];

    // Worse = lower score, or equal score and higher index (so ties keep the lower index).
    private bool Worse(int a, int b) => _s[a] < _s[b] || (_s[a] == _s[b] && _i[a] > _i[b]);

    public void Offer(float score, int index)
    {
        if (_n < _s.Length)
        {
            _s[_n] = score; _i[_n] = index;
            int c = _n++;
            while (c > 0)
            {
                int p = (c - 1) / 2;
                if (!Worse(c, p)) break;
                Swap(c, p);
                c = p;
            }
            return;
        }
        if (score < _s[0] || (score == _s[0] && index > _i[0])) return;
        _s[0] = score; _i[0] = index;
        SiftDown(0, _n);
    }

    /// <summary>Empties the heap into the first <see cref="Count"/> slots, best first.</summary>
    public void Drain(Span<int> indices, Span<float> scores)
    {
        int n = _n;
        while (n > 0)
        {
            indices[n - 1] = _i[0];
            scores[n - 1] = _s[0];
            n--;
            Swap(0, n);
            SiftDown(0, n);
        }
    }

    private void SiftDown(int p, int n)
    {
        while (true)
        {
            int l = 2 * p + 1, r = l + 1, m = p;
            if (l < n && Worse(l, m)) m = l;
            if (r < n && Worse(r, m)) m = r;
            if (m == p) return;
            Swap(p, m);
            p = m;
        }
    }

    private void Swap(int a, int b)
    {
        (_s[a], _s[b]) = (_s[b], _s[a]);
        (_i[a], _i[b]) = (_i[b], _i[a]);
    }
}
