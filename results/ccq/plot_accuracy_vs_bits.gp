set terminal svg size 900,1380 dynamic enhanced font 'Helvetica,13'
set output "plot_accuracy_vs_bits.svg"
set multiplot layout 3,1 title "CCQ: competitive-collaborative per-layer bits vs uniform and random allocations"
set lmargin at screen 0.08
set rmargin at screen 0.74
set title "LeNet-5 MNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set style fill empty
set autoscale y
set xtics ("W8" 0, "W4" 1, "W3" 2, "W2" 3, "W1.5" 4)
plot "plot_accuracy_vs_bits.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 notitle, \
     "plot_accuracy_vs_bits.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot_accuracy_vs_bits.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot_accuracy_vs_bits.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot_accuracy_vs_bits.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot_accuracy_vs_bits.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle, \
     keyentry with yerrorlines lw 2 pt 7 ps 1.2 lt 1 title "CCQ (first/last quantized)", \
     keyentry with yerrorlines lw 2 pt 5 ps 1.2 lt 2 title "random per-layer (first/last quantized)", \
     keyentry with yerrorlines lw 2 pt 9 ps 1.2 lt 3 title "DoReFa uniform, first/last fp32", \
     keyentry with yerrorlines lw 2 pt 11 ps 1.2 lt 4 title "DoReFa uniform, first/last quantized", \
     keyentry with yerrorlines lw 2 pt 13 ps 1.2 lt 5 title "LSQ uniform, first/last fp32", \
     keyentry with yerrorlines lw 2 pt 15 ps 1.2 lt 6 title "LSQ uniform, first/last quantized"
set title "LeNet-5 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
unset key
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set style fill empty
set autoscale y
set xtics ("W8" 0, "W4" 1, "W3" 2, "W2" 3, "W1.5" 4)
plot "plot_accuracy_vs_bits.dat" index 6 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 notitle, \
     "plot_accuracy_vs_bits.dat" index 7 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot_accuracy_vs_bits.dat" index 8 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot_accuracy_vs_bits.dat" index 9 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot_accuracy_vs_bits.dat" index 10 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot_accuracy_vs_bits.dat" index 11 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle
set title "VGG-small FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
unset key
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set style fill empty
set autoscale y
set xtics ("W8" 0, "W4" 1, "W3" 2, "W2" 3, "W1.5" 4)
plot "plot_accuracy_vs_bits.dat" index 12 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 notitle, \
     "plot_accuracy_vs_bits.dat" index 13 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot_accuracy_vs_bits.dat" index 14 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot_accuracy_vs_bits.dat" index 15 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot_accuracy_vs_bits.dat" index 16 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot_accuracy_vs_bits.dat" index 17 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle
unset multiplot
set lmargin -1
set rmargin -1
set terminal pngcairo size 900,1380 enhanced font 'Helvetica,11'
set output "plot_accuracy_vs_bits.png"
set multiplot layout 3,1 title "CCQ: competitive-collaborative per-layer bits vs uniform and random allocations"
set lmargin at screen 0.08
set rmargin at screen 0.74
set title "LeNet-5 MNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set style fill empty
set autoscale y
set xtics ("W8" 0, "W4" 1, "W3" 2, "W2" 3, "W1.5" 4)
plot "plot_accuracy_vs_bits.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 notitle, \
     "plot_accuracy_vs_bits.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot_accuracy_vs_bits.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot_accuracy_vs_bits.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot_accuracy_vs_bits.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot_accuracy_vs_bits.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle, \
     keyentry with yerrorlines lw 2 pt 7 ps 1.2 lt 1 title "CCQ (first/last quantized)", \
     keyentry with yerrorlines lw 2 pt 5 ps 1.2 lt 2 title "random per-layer (first/last quantized)", \
     keyentry with yerrorlines lw 2 pt 9 ps 1.2 lt 3 title "DoReFa uniform, first/last fp32", \
     keyentry with yerrorlines lw 2 pt 11 ps 1.2 lt 4 title "DoReFa uniform, first/last quantized", \
     keyentry with yerrorlines lw 2 pt 13 ps 1.2 lt 5 title "LSQ uniform, first/last fp32", \
     keyentry with yerrorlines lw 2 pt 15 ps 1.2 lt 6 title "LSQ uniform, first/last quantized"
set title "LeNet-5 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
unset key
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set style fill empty
set autoscale y
set xtics ("W8" 0, "W4" 1, "W3" 2, "W2" 3, "W1.5" 4)
plot "plot_accuracy_vs_bits.dat" index 6 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 notitle, \
     "plot_accuracy_vs_bits.dat" index 7 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot_accuracy_vs_bits.dat" index 8 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot_accuracy_vs_bits.dat" index 9 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot_accuracy_vs_bits.dat" index 10 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot_accuracy_vs_bits.dat" index 11 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle
set title "VGG-small FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
unset key
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set style fill empty
set autoscale y
set xtics ("W8" 0, "W4" 1, "W3" 2, "W2" 3, "W1.5" 4)
plot "plot_accuracy_vs_bits.dat" index 12 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 notitle, \
     "plot_accuracy_vs_bits.dat" index 13 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot_accuracy_vs_bits.dat" index 14 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot_accuracy_vs_bits.dat" index 15 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot_accuracy_vs_bits.dat" index 16 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot_accuracy_vs_bits.dat" index 17 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle
unset multiplot
set lmargin -1
set rmargin -1
unset output
