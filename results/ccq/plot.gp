set terminal svg size 900,1380 dynamic enhanced font 'Helvetica,13'
set output "plot.svg"
set multiplot layout 3,1 title "CCQ: competitive-collaborative per-layer bits vs uniform and random allocations"
set title "LeNet-5 MNIST"
set xlabel "model size (bytes, packed weights + scales; log scale)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
set logscale x
set offsets 0, 0, 0, 0
set autoscale x
set style fill empty
set autoscale y
set xtics autofreq
plot "plot.dat" index 0 using 1:2:3 with yerrorbars lw 2 pt 7 ps 1.2 lt 1 title "CCQ (first/last quantized)", \
     "plot.dat" index 1 using 1:2 with lines lw 2 lt 1 notitle, \
     "plot.dat" index 2 using 1:2:3 with yerrorbars lw 2 pt 5 ps 1.2 lt 2 title "random per-layer (first/last quantized)", \
     "plot.dat" index 3 using 1:2 with lines lw 2 lt 2 notitle, \
     "plot.dat" index 4 using 1:2:3 with yerrorbars lw 2 pt 9 ps 1.2 lt 3 title "DoReFa uniform, first/last fp32", \
     "plot.dat" index 5 using 1:2 with lines lw 2 lt 3 notitle, \
     "plot.dat" index 6 using 1:2:3 with yerrorbars lw 2 pt 11 ps 1.2 lt 4 title "DoReFa uniform, first/last quantized", \
     "plot.dat" index 7 using 1:2 with lines lw 2 lt 4 notitle, \
     "plot.dat" index 8 using 1:2:3 with yerrorbars lw 2 pt 13 ps 1.2 lt 5 title "LSQ uniform, first/last fp32", \
     "plot.dat" index 9 using 1:2 with lines lw 2 lt 5 notitle, \
     "plot.dat" index 10 using 1:2:3 with yerrorbars lw 2 pt 15 ps 1.2 lt 6 title "LSQ uniform, first/last quantized", \
     "plot.dat" index 11 using 1:2 with lines lw 2 lt 6 notitle, \
     99.27 with lines dt 2 lw 2 lc rgb "#555555" title "fp32 teacher (99.27)"
set title "LeNet-5 FMNIST"
set xlabel "model size (bytes, packed weights + scales; log scale)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
set logscale x
set offsets 0, 0, 0, 0
set autoscale x
set style fill empty
set autoscale y
set xtics autofreq
plot "plot.dat" index 12 using 1:2:3 with yerrorbars lw 2 pt 7 ps 1.2 lt 1 title "CCQ (first/last quantized)", \
     "plot.dat" index 13 using 1:2 with lines lw 2 lt 1 notitle, \
     "plot.dat" index 14 using 1:2:3 with yerrorbars lw 2 pt 5 ps 1.2 lt 2 title "random per-layer (first/last quantized)", \
     "plot.dat" index 15 using 1:2 with lines lw 2 lt 2 notitle, \
     "plot.dat" index 16 using 1:2:3 with yerrorbars lw 2 pt 9 ps 1.2 lt 3 title "DoReFa uniform, first/last fp32", \
     "plot.dat" index 17 using 1:2 with lines lw 2 lt 3 notitle, \
     "plot.dat" index 18 using 1:2:3 with yerrorbars lw 2 pt 11 ps 1.2 lt 4 title "DoReFa uniform, first/last quantized", \
     "plot.dat" index 19 using 1:2 with lines lw 2 lt 4 notitle, \
     "plot.dat" index 20 using 1:2:3 with yerrorbars lw 2 pt 13 ps 1.2 lt 5 title "LSQ uniform, first/last fp32", \
     "plot.dat" index 21 using 1:2 with lines lw 2 lt 5 notitle, \
     "plot.dat" index 22 using 1:2:3 with yerrorbars lw 2 pt 15 ps 1.2 lt 6 title "LSQ uniform, first/last quantized", \
     "plot.dat" index 23 using 1:2 with lines lw 2 lt 6 notitle, \
     90.7233 with lines dt 2 lw 2 lc rgb "#555555" title "fp32 teacher (90.72)"
set title "VGG-small FMNIST"
set xlabel "model size (bytes, packed weights + scales; log scale)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
set logscale x
set offsets 0, 0, 0, 0
set autoscale x
set style fill empty
set autoscale y
set xtics autofreq
plot "plot.dat" index 24 using 1:2:3 with yerrorbars lw 2 pt 7 ps 1.2 lt 1 title "CCQ (first/last quantized)", \
     "plot.dat" index 25 using 1:2 with lines lw 2 lt 1 notitle, \
     "plot.dat" index 26 using 1:2:3 with yerrorbars lw 2 pt 5 ps 1.2 lt 2 title "random per-layer (first/last quantized)", \
     "plot.dat" index 27 using 1:2 with lines lw 2 lt 2 notitle, \
     "plot.dat" index 28 using 1:2:3 with yerrorbars lw 2 pt 9 ps 1.2 lt 3 title "DoReFa uniform, first/last fp32", \
     "plot.dat" index 29 using 1:2 with lines lw 2 lt 3 notitle, \
     "plot.dat" index 30 using 1:2:3 with yerrorbars lw 2 pt 11 ps 1.2 lt 4 title "DoReFa uniform, first/last quantized", \
     "plot.dat" index 31 using 1:2 with lines lw 2 lt 4 notitle, \
     "plot.dat" index 32 using 1:2:3 with yerrorbars lw 2 pt 13 ps 1.2 lt 5 title "LSQ uniform, first/last fp32", \
     "plot.dat" index 33 using 1:2 with lines lw 2 lt 5 notitle, \
     "plot.dat" index 34 using 1:2:3 with yerrorbars lw 2 pt 15 ps 1.2 lt 6 title "LSQ uniform, first/last quantized", \
     "plot.dat" index 35 using 1:2 with lines lw 2 lt 6 notitle, \
     79.8 with lines dt 2 lw 2 lc rgb "#555555" title "fp32 teacher (79.80)"
unset multiplot
set terminal pngcairo size 900,1380 enhanced font 'Helvetica,11'
set output "plot.png"
set multiplot layout 3,1 title "CCQ: competitive-collaborative per-layer bits vs uniform and random allocations"
set title "LeNet-5 MNIST"
set xlabel "model size (bytes, packed weights + scales; log scale)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
set logscale x
set offsets 0, 0, 0, 0
set autoscale x
set style fill empty
set autoscale y
set xtics autofreq
plot "plot.dat" index 0 using 1:2:3 with yerrorbars lw 2 pt 7 ps 1.2 lt 1 title "CCQ (first/last quantized)", \
     "plot.dat" index 1 using 1:2 with lines lw 2 lt 1 notitle, \
     "plot.dat" index 2 using 1:2:3 with yerrorbars lw 2 pt 5 ps 1.2 lt 2 title "random per-layer (first/last quantized)", \
     "plot.dat" index 3 using 1:2 with lines lw 2 lt 2 notitle, \
     "plot.dat" index 4 using 1:2:3 with yerrorbars lw 2 pt 9 ps 1.2 lt 3 title "DoReFa uniform, first/last fp32", \
     "plot.dat" index 5 using 1:2 with lines lw 2 lt 3 notitle, \
     "plot.dat" index 6 using 1:2:3 with yerrorbars lw 2 pt 11 ps 1.2 lt 4 title "DoReFa uniform, first/last quantized", \
     "plot.dat" index 7 using 1:2 with lines lw 2 lt 4 notitle, \
     "plot.dat" index 8 using 1:2:3 with yerrorbars lw 2 pt 13 ps 1.2 lt 5 title "LSQ uniform, first/last fp32", \
     "plot.dat" index 9 using 1:2 with lines lw 2 lt 5 notitle, \
     "plot.dat" index 10 using 1:2:3 with yerrorbars lw 2 pt 15 ps 1.2 lt 6 title "LSQ uniform, first/last quantized", \
     "plot.dat" index 11 using 1:2 with lines lw 2 lt 6 notitle, \
     99.27 with lines dt 2 lw 2 lc rgb "#555555" title "fp32 teacher (99.27)"
set title "LeNet-5 FMNIST"
set xlabel "model size (bytes, packed weights + scales; log scale)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
set logscale x
set offsets 0, 0, 0, 0
set autoscale x
set style fill empty
set autoscale y
set xtics autofreq
plot "plot.dat" index 12 using 1:2:3 with yerrorbars lw 2 pt 7 ps 1.2 lt 1 title "CCQ (first/last quantized)", \
     "plot.dat" index 13 using 1:2 with lines lw 2 lt 1 notitle, \
     "plot.dat" index 14 using 1:2:3 with yerrorbars lw 2 pt 5 ps 1.2 lt 2 title "random per-layer (first/last quantized)", \
     "plot.dat" index 15 using 1:2 with lines lw 2 lt 2 notitle, \
     "plot.dat" index 16 using 1:2:3 with yerrorbars lw 2 pt 9 ps 1.2 lt 3 title "DoReFa uniform, first/last fp32", \
     "plot.dat" index 17 using 1:2 with lines lw 2 lt 3 notitle, \
     "plot.dat" index 18 using 1:2:3 with yerrorbars lw 2 pt 11 ps 1.2 lt 4 title "DoReFa uniform, first/last quantized", \
     "plot.dat" index 19 using 1:2 with lines lw 2 lt 4 notitle, \
     "plot.dat" index 20 using 1:2:3 with yerrorbars lw 2 pt 13 ps 1.2 lt 5 title "LSQ uniform, first/last fp32", \
     "plot.dat" index 21 using 1:2 with lines lw 2 lt 5 notitle, \
     "plot.dat" index 22 using 1:2:3 with yerrorbars lw 2 pt 15 ps 1.2 lt 6 title "LSQ uniform, first/last quantized", \
     "plot.dat" index 23 using 1:2 with lines lw 2 lt 6 notitle, \
     90.7233 with lines dt 2 lw 2 lc rgb "#555555" title "fp32 teacher (90.72)"
set title "VGG-small FMNIST"
set xlabel "model size (bytes, packed weights + scales; log scale)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
set logscale x
set offsets 0, 0, 0, 0
set autoscale x
set style fill empty
set autoscale y
set xtics autofreq
plot "plot.dat" index 24 using 1:2:3 with yerrorbars lw 2 pt 7 ps 1.2 lt 1 title "CCQ (first/last quantized)", \
     "plot.dat" index 25 using 1:2 with lines lw 2 lt 1 notitle, \
     "plot.dat" index 26 using 1:2:3 with yerrorbars lw 2 pt 5 ps 1.2 lt 2 title "random per-layer (first/last quantized)", \
     "plot.dat" index 27 using 1:2 with lines lw 2 lt 2 notitle, \
     "plot.dat" index 28 using 1:2:3 with yerrorbars lw 2 pt 9 ps 1.2 lt 3 title "DoReFa uniform, first/last fp32", \
     "plot.dat" index 29 using 1:2 with lines lw 2 lt 3 notitle, \
     "plot.dat" index 30 using 1:2:3 with yerrorbars lw 2 pt 11 ps 1.2 lt 4 title "DoReFa uniform, first/last quantized", \
     "plot.dat" index 31 using 1:2 with lines lw 2 lt 4 notitle, \
     "plot.dat" index 32 using 1:2:3 with yerrorbars lw 2 pt 13 ps 1.2 lt 5 title "LSQ uniform, first/last fp32", \
     "plot.dat" index 33 using 1:2 with lines lw 2 lt 5 notitle, \
     "plot.dat" index 34 using 1:2:3 with yerrorbars lw 2 pt 15 ps 1.2 lt 6 title "LSQ uniform, first/last quantized", \
     "plot.dat" index 35 using 1:2 with lines lw 2 lt 6 notitle, \
     79.8 with lines dt 2 lw 2 lc rgb "#555555" title "fp32 teacher (79.80)"
unset multiplot
unset output
