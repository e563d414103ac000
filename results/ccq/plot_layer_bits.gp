set terminal svg size 900,1140 dynamic enhanced font 'Helvetica,13'
set output "plot_layer_bits.svg"
set multiplot layout 3,1 title "CCQ: competitive-collaborative per-layer bits vs uniform and random allocations: per-layer weight bits"
set title "LeNet-5 MNIST"
set xlabel "layer"
set ylabel "weight bits"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set boxwidth 0.05
set style fill solid 0.7 border -1
set yrange [0:*]
set xtics ("conv1" 0, "conv2" 1, "fc1" 2, "fc2" 3, "fc3" 4)
plot "plot_layer_bits.dat" index 0 using 1:2 with boxes lt 1 title "CCQ avg 1.5 bits", \
     "plot_layer_bits.dat" index 1 using 1:2 with boxes lt 2 title "random per-layer avg 1.40 bits", \
     "plot_layer_bits.dat" index 2 using 1:2 with boxes lt 3 title "CCQ avg 2 bits", \
     "plot_layer_bits.dat" index 3 using 1:2 with boxes lt 4 title "random per-layer avg 2.00 bits", \
     "plot_layer_bits.dat" index 4 using 1:2 with boxes lt 5 title "CCQ avg 3 bits", \
     "plot_layer_bits.dat" index 5 using 1:2 with boxes lt 6 title "random per-layer avg 3.08 bits", \
     "plot_layer_bits.dat" index 6 using 1:2 with boxes lt 7 title "CCQ avg 4 bits", \
     "plot_layer_bits.dat" index 7 using 1:2 with boxes lt 8 title "random per-layer avg 3.91 bits", \
     "plot_layer_bits.dat" index 8 using 1:2 with boxes lt 9 title "DoReFa W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 9 using 1:2 with boxes lt 10 title "DoReFa W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 10 using 1:2 with boxes lt 11 title "DoReFa W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 11 using 1:2 with boxes lt 12 title "DoReFa W8A4, first/last fp32", \
     "plot_layer_bits.dat" index 12 using 1:2 with boxes lt 13 title "LSQ W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 13 using 1:2 with boxes lt 14 title "LSQ W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 14 using 1:2 with boxes lt 15 title "LSQ W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 15 using 1:2 with boxes lt 16 title "LSQ W8A4, first/last fp32"
set title "LeNet-5 FMNIST"
set xlabel "layer"
set ylabel "weight bits"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set boxwidth 0.05
set style fill solid 0.7 border -1
set yrange [0:*]
set xtics ("conv1" 0, "conv2" 1, "fc1" 2, "fc2" 3, "fc3" 4)
plot "plot_layer_bits.dat" index 16 using 1:2 with boxes lt 1 title "CCQ avg 1.5 bits", \
     "plot_layer_bits.dat" index 17 using 1:2 with boxes lt 2 title "random per-layer avg 1.40 bits", \
     "plot_layer_bits.dat" index 18 using 1:2 with boxes lt 3 title "CCQ avg 2 bits", \
     "plot_layer_bits.dat" index 19 using 1:2 with boxes lt 4 title "random per-layer avg 2.00 bits", \
     "plot_layer_bits.dat" index 20 using 1:2 with boxes lt 5 title "CCQ avg 3 bits", \
     "plot_layer_bits.dat" index 21 using 1:2 with boxes lt 6 title "random per-layer avg 3.08 bits", \
     "plot_layer_bits.dat" index 22 using 1:2 with boxes lt 7 title "CCQ avg 4 bits", \
     "plot_layer_bits.dat" index 23 using 1:2 with boxes lt 8 title "random per-layer avg 3.91 bits", \
     "plot_layer_bits.dat" index 24 using 1:2 with boxes lt 9 title "DoReFa W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 25 using 1:2 with boxes lt 10 title "DoReFa W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 26 using 1:2 with boxes lt 11 title "DoReFa W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 27 using 1:2 with boxes lt 12 title "DoReFa W8A4, first/last fp32", \
     "plot_layer_bits.dat" index 28 using 1:2 with boxes lt 13 title "LSQ W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 29 using 1:2 with boxes lt 14 title "LSQ W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 30 using 1:2 with boxes lt 15 title "LSQ W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 31 using 1:2 with boxes lt 16 title "LSQ W8A4, first/last fp32"
set title "VGG-small FMNIST"
set xlabel "layer"
set ylabel "weight bits"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:7.5]
set boxwidth 0.05
set style fill solid 0.7 border -1
set yrange [0:*]
set xtics ("conv1" 0, "conv2" 1, "conv3" 2, "conv4" 3, "conv5" 4, "conv6" 5, "conv7" 6, "fc" 7)
plot "plot_layer_bits.dat" index 32 using 1:2 with boxes lt 1 title "CCQ avg 1.5 bits", \
     "plot_layer_bits.dat" index 33 using 1:2 with boxes lt 2 title "random per-layer avg 1.57 bits", \
     "plot_layer_bits.dat" index 34 using 1:2 with boxes lt 3 title "CCQ avg 2 bits", \
     "plot_layer_bits.dat" index 35 using 1:2 with boxes lt 4 title "random per-layer avg 1.93 bits", \
     "plot_layer_bits.dat" index 36 using 1:2 with boxes lt 5 title "CCQ avg 3 bits", \
     "plot_layer_bits.dat" index 37 using 1:2 with boxes lt 6 title "random per-layer avg 3.04 bits", \
     "plot_layer_bits.dat" index 38 using 1:2 with boxes lt 7 title "CCQ avg 4 bits", \
     "plot_layer_bits.dat" index 39 using 1:2 with boxes lt 8 title "random per-layer avg 3.92 bits", \
     "plot_layer_bits.dat" index 40 using 1:2 with boxes lt 9 title "DoReFa W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 41 using 1:2 with boxes lt 10 title "DoReFa W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 42 using 1:2 with boxes lt 11 title "DoReFa W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 43 using 1:2 with boxes lt 12 title "DoReFa W8A4, first/last fp32", \
     "plot_layer_bits.dat" index 44 using 1:2 with boxes lt 13 title "LSQ W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 45 using 1:2 with boxes lt 14 title "LSQ W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 46 using 1:2 with boxes lt 15 title "LSQ W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 47 using 1:2 with boxes lt 16 title "LSQ W8A4, first/last fp32"
unset multiplot
set terminal pngcairo size 900,1140 enhanced font 'Helvetica,11'
set output "plot_layer_bits.png"
set multiplot layout 3,1 title "CCQ: competitive-collaborative per-layer bits vs uniform and random allocations: per-layer weight bits"
set title "LeNet-5 MNIST"
set xlabel "layer"
set ylabel "weight bits"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set boxwidth 0.05
set style fill solid 0.7 border -1
set yrange [0:*]
set xtics ("conv1" 0, "conv2" 1, "fc1" 2, "fc2" 3, "fc3" 4)
plot "plot_layer_bits.dat" index 0 using 1:2 with boxes lt 1 title "CCQ avg 1.5 bits", \
     "plot_layer_bits.dat" index 1 using 1:2 with boxes lt 2 title "random per-layer avg 1.40 bits", \
     "plot_layer_bits.dat" index 2 using 1:2 with boxes lt 3 title "CCQ avg 2 bits", \
     "plot_layer_bits.dat" index 3 using 1:2 with boxes lt 4 title "random per-layer avg 2.00 bits", \
     "plot_layer_bits.dat" index 4 using 1:2 with boxes lt 5 title "CCQ avg 3 bits", \
     "plot_layer_bits.dat" index 5 using 1:2 with boxes lt 6 title "random per-layer avg 3.08 bits", \
     "plot_layer_bits.dat" index 6 using 1:2 with boxes lt 7 title "CCQ avg 4 bits", \
     "plot_layer_bits.dat" index 7 using 1:2 with boxes lt 8 title "random per-layer avg 3.91 bits", \
     "plot_layer_bits.dat" index 8 using 1:2 with boxes lt 9 title "DoReFa W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 9 using 1:2 with boxes lt 10 title "DoReFa W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 10 using 1:2 with boxes lt 11 title "DoReFa W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 11 using 1:2 with boxes lt 12 title "DoReFa W8A4, first/last fp32", \
     "plot_layer_bits.dat" index 12 using 1:2 with boxes lt 13 title "LSQ W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 13 using 1:2 with boxes lt 14 title "LSQ W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 14 using 1:2 with boxes lt 15 title "LSQ W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 15 using 1:2 with boxes lt 16 title "LSQ W8A4, first/last fp32"
set title "LeNet-5 FMNIST"
set xlabel "layer"
set ylabel "weight bits"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:4.5]
set boxwidth 0.05
set style fill solid 0.7 border -1
set yrange [0:*]
set xtics ("conv1" 0, "conv2" 1, "fc1" 2, "fc2" 3, "fc3" 4)
plot "plot_layer_bits.dat" index 16 using 1:2 with boxes lt 1 title "CCQ avg 1.5 bits", \
     "plot_layer_bits.dat" index 17 using 1:2 with boxes lt 2 title "random per-layer avg 1.40 bits", \
     "plot_layer_bits.dat" index 18 using 1:2 with boxes lt 3 title "CCQ avg 2 bits", \
     "plot_layer_bits.dat" index 19 using 1:2 with boxes lt 4 title "random per-layer avg 2.00 bits", \
     "plot_layer_bits.dat" index 20 using 1:2 with boxes lt 5 title "CCQ avg 3 bits", \
     "plot_layer_bits.dat" index 21 using 1:2 with boxes lt 6 title "random per-layer avg 3.08 bits", \
     "plot_layer_bits.dat" index 22 using 1:2 with boxes lt 7 title "CCQ avg 4 bits", \
     "plot_layer_bits.dat" index 23 using 1:2 with boxes lt 8 title "random per-layer avg 3.91 bits", \
     "plot_layer_bits.dat" index 24 using 1:2 with boxes lt 9 title "DoReFa W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 25 using 1:2 with boxes lt 10 title "DoReFa W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 26 using 1:2 with boxes lt 11 title "DoReFa W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 27 using 1:2 with boxes lt 12 title "DoReFa W8A4, first/last fp32", \
     "plot_layer_bits.dat" index 28 using 1:2 with boxes lt 13 title "LSQ W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 29 using 1:2 with boxes lt 14 title "LSQ W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 30 using 1:2 with boxes lt 15 title "LSQ W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 31 using 1:2 with boxes lt 16 title "LSQ W8A4, first/last fp32"
set title "VGG-small FMNIST"
set xlabel "layer"
set ylabel "weight bits"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:7.5]
set boxwidth 0.05
set style fill solid 0.7 border -1
set yrange [0:*]
set xtics ("conv1" 0, "conv2" 1, "conv3" 2, "conv4" 3, "conv5" 4, "conv6" 5, "conv7" 6, "fc" 7)
plot "plot_layer_bits.dat" index 32 using 1:2 with boxes lt 1 title "CCQ avg 1.5 bits", \
     "plot_layer_bits.dat" index 33 using 1:2 with boxes lt 2 title "random per-layer avg 1.57 bits", \
     "plot_layer_bits.dat" index 34 using 1:2 with boxes lt 3 title "CCQ avg 2 bits", \
     "plot_layer_bits.dat" index 35 using 1:2 with boxes lt 4 title "random per-layer avg 1.93 bits", \
     "plot_layer_bits.dat" index 36 using 1:2 with boxes lt 5 title "CCQ avg 3 bits", \
     "plot_layer_bits.dat" index 37 using 1:2 with boxes lt 6 title "random per-layer avg 3.04 bits", \
     "plot_layer_bits.dat" index 38 using 1:2 with boxes lt 7 title "CCQ avg 4 bits", \
     "plot_layer_bits.dat" index 39 using 1:2 with boxes lt 8 title "random per-layer avg 3.92 bits", \
     "plot_layer_bits.dat" index 40 using 1:2 with boxes lt 9 title "DoReFa W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 41 using 1:2 with boxes lt 10 title "DoReFa W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 42 using 1:2 with boxes lt 11 title "DoReFa W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 43 using 1:2 with boxes lt 12 title "DoReFa W8A4, first/last fp32", \
     "plot_layer_bits.dat" index 44 using 1:2 with boxes lt 13 title "LSQ W2A4, first/last fp32", \
     "plot_layer_bits.dat" index 45 using 1:2 with boxes lt 14 title "LSQ W3A4, first/last fp32", \
     "plot_layer_bits.dat" index 46 using 1:2 with boxes lt 15 title "LSQ W4A4, first/last fp32", \
     "plot_layer_bits.dat" index 47 using 1:2 with boxes lt 16 title "LSQ W8A4, first/last fp32"
unset multiplot
unset output
