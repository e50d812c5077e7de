# chart.gp -- bench/chart.png: okofdb, floor and peers per operation, in µs
# on a log scale, one panel per file system and value size.
# bench/report.lua writes the data (build/bench/chart.dat: one block per
# panel, a header line naming the series) and a file of variables
# (datafile, outfile, npanels, nrows, ncols, nseries, titles[], colours[]
# (one per series, by name, so a series keeps its colour), subtitle),
# then runs:  gnuplot -e "load 'build/bench/chart.vars.gp'" bench/chart.gp

set terminal pngcairo size 1600, 560 * nrows font "DejaVu Sans,10" noenhanced
set output outfile
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set logscale y
set format y "%g"
set grid ytics mytics lc rgb "#dddddd"
set ylabel "µs per operation (log scale)"
set xtics rotate by 30 right scale 0 font ",9"
set key at graph 1.02, graph 1 left top vertical Left reverse font ",9" samplen 2
set rmargin 24
set yrange [0.1:*]

set multiplot layout nrows, ncols title "okofdb vs the file system's floor and peers — " . subtitle font ",12"
do for [p = 1:npanels] {
    set title titles[p]
    plot for [c = 2:nseries + 1] datafile index (p - 1) using c:xtic(1) \
        title columnheader(c) lc rgb colours[c - 1]
}
unset multiplot
